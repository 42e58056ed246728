#include "libs/metrics/metrics.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "httplib.h"

namespace warden::metrics {
namespace {

// Counters, gauges and histograms render in the text exposition format,
// with labels escaped and histogram buckets cumulative.
TEST(MetricsTest, RendersTheExpositionFormat) {
  Registry registry;
  registry.GetCounter("requests_total", "Requests.", {{"code", "OK"}})
      .Increment(3);
  registry.GetCounter("requests_total", "Requests.", {{"code", "NOT\"FOUND"}})
      .Increment();
  registry.GetGauge("lag_revisions", "Lag.").Set(7);
  auto& latency = registry.GetHistogram("latency_seconds", "Latency.", {},
                                        {0.001, 0.01});
  latency.Observe(0.0005);
  latency.Observe(0.005);
  latency.Observe(5);

  std::string text = registry.Render();
  EXPECT_TRUE(absl::StrContains(text, "# TYPE requests_total counter\n"));
  EXPECT_TRUE(absl::StrContains(text, "requests_total{code=\"OK\"} 3\n"));
  EXPECT_TRUE(
      absl::StrContains(text, "requests_total{code=\"NOT\\\"FOUND\"} 1\n"));
  EXPECT_TRUE(absl::StrContains(text, "lag_revisions 7\n"));
  EXPECT_TRUE(absl::StrContains(text, "latency_seconds_bucket{le=\"0.001\"} 1\n"));
  EXPECT_TRUE(absl::StrContains(text, "latency_seconds_bucket{le=\"0.01\"} 2\n"));
  EXPECT_TRUE(absl::StrContains(text, "latency_seconds_bucket{le=\"+Inf\"} 3\n"));
  EXPECT_TRUE(absl::StrContains(text, "latency_seconds_count 3\n"));
}

// The same name and labels give the same metric; collectors run on render.
TEST(MetricsTest, LookupsAreStableAndCollectorsRun) {
  Registry registry;
  Counter& a = registry.GetCounter("x_total", "X.", {{"k", "v"}});
  Counter& b = registry.GetCounter("x_total", "X.", {{"k", "v"}});
  EXPECT_EQ(&a, &b);
  Gauge& gauge = registry.GetGauge("computed", "Computed on scrape.");
  int runs = 0;
  registry.AddCollector([&] { gauge.Set(++runs * 10); });
  EXPECT_TRUE(absl::StrContains(registry.Render(), "computed 10\n"));
  EXPECT_TRUE(absl::StrContains(registry.Render(), "computed 20\n"));
}

// The endpoint serves the registry over HTTP on a port of its own.
TEST(MetricsTest, EndpointServesMetrics) {
  Registry registry;
  registry.GetCounter("served_total", "Served.").Increment();
  auto endpoint = MetricsEndpoint::Start("127.0.0.1:0", &registry);
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  httplib::Client client("127.0.0.1", (*endpoint)->port());
  auto response = client.Get("/metrics");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_TRUE(absl::StrContains(response->body, "served_total 1\n"));
  EXPECT_FALSE(MetricsEndpoint::Start("127.0.0.1:notaport", &registry).ok());
}

}  // namespace
}  // namespace warden::metrics
