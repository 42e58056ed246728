#ifndef WARDEN_LIBS_METRICS_METRICS_H_
#define WARDEN_LIBS_METRICS_METRICS_H_

// Prometheus metrics: counters, gauges and histograms with labels, rendered
// in the text exposition format (version 0.0.4), and an HTTP endpoint that
// serves them on a port of their own.

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace httplib {
class Server;
}

namespace warden::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

// A value that only goes up. Thread-safe and lock-free.
class Counter {
 public:
  void Increment(double amount = 1);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// A value that goes up and down. Thread-safe and lock-free.
class Gauge {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double amount);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Counts observations into cumulative buckets. Thread-safe and lock-free.
class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void Observe(double value);

  const std::vector<double>& upper_bounds() const { return bounds_; }
  // Observations at or below bounds[i] (not cumulative), then the overflow.
  uint64_t bucket_count(size_t i) const;
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  double sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size() + 1
  std::atomic<uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

// Latency buckets in seconds, 50 µs to 10 s.
const std::vector<double>& LatencyBuckets();

// Holds metric families. Looking a metric up takes a lock, so hot paths look
// up once and keep the reference, which stays valid for the registry's life.
// Thread-safe.
class Registry {
 public:
  Counter& GetCounter(const std::string& name, const std::string& help,
                      const Labels& labels = {});
  Gauge& GetGauge(const std::string& name, const std::string& help,
                  const Labels& labels = {});
  Histogram& GetHistogram(const std::string& name, const std::string& help,
                          const Labels& labels = {},
                          const std::vector<double>& buckets =
                              LatencyBuckets());

  // Runs before every render, to refresh gauges that are read on demand
  // (replica lag, RocksDB figures). Must not call Render.
  void AddCollector(std::function<void()> collector);

  // Every family in the text exposition format, families sorted by name.
  std::string Render() const;

 private:
  enum class Type { kCounter, kGauge, kHistogram };
  struct Family {
    Type type;
    std::string help;
    std::map<std::string, std::unique_ptr<Counter>> counters;
    std::map<std::string, std::unique_ptr<Gauge>> gauges;
    std::map<std::string, std::unique_ptr<Histogram>> histograms;
  };
  Family& FamilyFor(const std::string& name, const std::string& help,
                    Type type) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  mutable absl::Mutex mutex_;
  std::map<std::string, Family> families_ ABSL_GUARDED_BY(mutex_);
  std::vector<std::function<void()>> collectors_ ABSL_GUARDED_BY(mutex_);
};

// The process-wide registry both services use.
Registry& DefaultRegistry();

// Serves GET /metrics (the registry) and GET /healthz ("ok") over HTTP on
// its own thread. Thread-safe.
class MetricsEndpoint {
 public:
  // Binds "host:port" (port 0 picks one). UNAVAILABLE if it cannot.
  static absl::StatusOr<std::unique_ptr<MetricsEndpoint>> Start(
      const std::string& listen_address, Registry* registry);
  ~MetricsEndpoint();

  int port() const { return port_; }

 private:
  MetricsEndpoint() = default;

  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace warden::metrics

#endif  // WARDEN_LIBS_METRICS_METRICS_H_
