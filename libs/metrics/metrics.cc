#include "libs/metrics/metrics.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <memory>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "httplib.h"

namespace warden::metrics {
namespace {

void AtomicAdd(std::atomic<double>& target, double amount) {
  double current = target.load(std::memory_order_relaxed);
  while (!target.compare_exchange_weak(current, current + amount,
                                       std::memory_order_relaxed)) {
  }
}

std::string EscapeLabelValue(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// The label part of a series, e.g. {method="Check",code="OK"}; "" if none.
std::string LabelKey(const Labels& labels) {
  if (labels.empty()) return "";
  std::string key = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) key += ",";
    absl::StrAppend(&key, labels[i].first, "=\"",
                    EscapeLabelValue(labels[i].second), "\"");
  }
  return key + "}";
}

// The label key with one more label appended, for histogram buckets.
std::string WithLabel(const std::string& key, const std::string& name,
                      const std::string& value) {
  std::string extra = absl::StrCat(name, "=\"", value, "\"");
  if (key.empty()) return absl::StrCat("{", extra, "}");
  return absl::StrCat(key.substr(0, key.size() - 1), ",", extra, "}");
}

std::string FormatValue(double value) {
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (std::isnan(value)) return "NaN";
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    return absl::StrCat(static_cast<int64_t>(value));
  }
  return absl::StrCat(value);
}

}  // namespace

void Counter::Increment(double amount) { AtomicAdd(value_, amount); }

void Gauge::Add(double amount) { AtomicAdd(value_, amount); }

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)),
      buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  std::sort(bounds_.begin(), bounds_.end());
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i] = 0;
}

void Histogram::Observe(double value) {
  size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), value) -
             bounds_.begin();
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  AtomicAdd(sum_, value);
}

uint64_t Histogram::bucket_count(size_t i) const {
  return buckets_[i].load(std::memory_order_relaxed);
}

const std::vector<double>& LatencyBuckets() {
  static const std::vector<double> buckets = {
      0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
      0.01,    0.025,  0.05,    0.1,    0.25,  0.5,    1,
      2.5,     5,      10};
  return buckets;
}

Registry::Family& Registry::FamilyFor(const std::string& name,
                                      const std::string& help, Type type) {
  auto [it, inserted] = families_.try_emplace(name);
  if (inserted) {
    it->second.type = type;
    it->second.help = help;
  }
  return it->second;
}

Counter& Registry::GetCounter(const std::string& name, const std::string& help,
                              const Labels& labels) {
  absl::MutexLock lock(&mutex_);
  auto& slot = FamilyFor(name, help, Type::kCounter).counters[LabelKey(labels)];
  if (slot == nullptr) slot = std::make_unique<Counter>();
  return *slot;
}

Gauge& Registry::GetGauge(const std::string& name, const std::string& help,
                          const Labels& labels) {
  absl::MutexLock lock(&mutex_);
  auto& slot = FamilyFor(name, help, Type::kGauge).gauges[LabelKey(labels)];
  if (slot == nullptr) slot = std::make_unique<Gauge>();
  return *slot;
}

Histogram& Registry::GetHistogram(const std::string& name,
                                  const std::string& help,
                                  const Labels& labels,
                                  const std::vector<double>& buckets) {
  absl::MutexLock lock(&mutex_);
  auto& slot =
      FamilyFor(name, help, Type::kHistogram).histograms[LabelKey(labels)];
  if (slot == nullptr) slot = std::make_unique<Histogram>(buckets);
  return *slot;
}

void Registry::AddCollector(std::function<void()> collector) {
  absl::MutexLock lock(&mutex_);
  collectors_.push_back(std::move(collector));
}

std::string Registry::Render() const {
  std::vector<std::function<void()>> collectors;
  {
    absl::MutexLock lock(&mutex_);
    collectors = collectors_;
  }
  for (const auto& collect : collectors) collect();

  absl::MutexLock lock(&mutex_);
  std::string out;
  for (const auto& [name, family] : families_) {
    const char* type = family.type == Type::kCounter ? "counter"
                       : family.type == Type::kGauge ? "gauge"
                                                     : "histogram";
    absl::StrAppend(&out, "# HELP ", name, " ", family.help, "\n", "# TYPE ",
                    name, " ", type, "\n");
    for (const auto& [key, counter] : family.counters) {
      absl::StrAppend(&out, name, key, " ", FormatValue(counter->value()),
                      "\n");
    }
    for (const auto& [key, gauge] : family.gauges) {
      absl::StrAppend(&out, name, key, " ", FormatValue(gauge->value()), "\n");
    }
    for (const auto& [key, histogram] : family.histograms) {
      uint64_t cumulative = 0;
      const auto& bounds = histogram->upper_bounds();
      for (size_t i = 0; i < bounds.size(); ++i) {
        cumulative += histogram->bucket_count(i);
        absl::StrAppend(&out, name, "_bucket",
                        WithLabel(key, "le", FormatValue(bounds[i])), " ",
                        cumulative, "\n");
      }
      cumulative += histogram->bucket_count(bounds.size());
      absl::StrAppend(&out, name, "_bucket", WithLabel(key, "le", "+Inf"), " ",
                      cumulative, "\n", name, "_sum", key, " ",
                      FormatValue(histogram->sum()), "\n", name, "_count", key,
                      " ", cumulative, "\n");
    }
  }
  return out;
}

Registry& DefaultRegistry() {
  static Registry* registry = new Registry();
  return *registry;
}

absl::StatusOr<std::unique_ptr<MetricsEndpoint>> MetricsEndpoint::Start(
    const std::string& listen_address, Registry* registry) {
  size_t colon = listen_address.rfind(':');
  int port = -1;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(listen_address.substr(colon + 1), &port) ||
      port < 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "metrics address '", listen_address, "' must be host:port"));
  }
  std::string host = listen_address.substr(0, colon);

  std::unique_ptr<MetricsEndpoint> endpoint(new MetricsEndpoint());
  endpoint->http_ = std::make_unique<httplib::Server>();
  endpoint->http_->Get("/metrics", [registry](const httplib::Request&,
                                              httplib::Response& response) {
    response.set_content(registry->Render(),
                         "text/plain; version=0.0.4; charset=utf-8");
  });
  endpoint->http_->Get("/healthz",
                       [](const httplib::Request&, httplib::Response& response) {
                         response.set_content("ok\n", "text/plain");
                       });
  if (port == 0) {
    endpoint->port_ = endpoint->http_->bind_to_any_port(host);
  } else if (endpoint->http_->bind_to_port(host, port)) {
    endpoint->port_ = port;
  }
  if (endpoint->port_ <= 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot listen for metrics on ", listen_address,
        ": the address is invalid or already in use"));
  }
  httplib::Server* http = endpoint->http_.get();
  auto listening_ended = std::make_shared<std::atomic<bool>>(false);
  endpoint->thread_ = std::thread([http, listening_ended] {
    http->listen_after_bind();
    listening_ended->store(true);
  });
  // httplib's stop() does nothing until the server runs, so a stop that
  // came before the thread got going would leave it in accept() for good:
  // return only once it runs (or has already given up).
  while (!http->is_running() && !listening_ended->load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return endpoint;
}

MetricsEndpoint::~MetricsEndpoint() {
  if (http_ != nullptr) http_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace warden::metrics
