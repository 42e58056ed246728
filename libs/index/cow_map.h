#ifndef WARDEN_LIBS_INDEX_COW_MAP_H_
#define WARDEN_LIBS_INDEX_COW_MAP_H_

// A string-keyed map for RCU-style publication: a copy shares everything
// with the original, and a write copies only the shard (and the value) it
// touches. The replica index copies its previous state for each batch of
// changes, edits the copy, and publishes it; readers of the previous state
// are never disturbed and never wait.

#include <array>
#include <bitset>
#include <cstddef>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"

namespace warden::index {

// Values are held by shared_ptr<const T>, so copying a shard copies
// pointers, not values.
//
// Thread safety: const methods may be called from any number of threads on
// a map nobody writes. Writes (Put, Erase, Mutable) need exclusive access,
// and are meant for a fresh copy that is not yet published.
template <typename T>
class CowMap {
 public:
  using Ptr = std::shared_ptr<const T>;

  CowMap() { shards_.fill(EmptyShard()); }
  // The copy shares every shard and value; writes to it copy what they touch.
  CowMap(const CowMap& other) : shards_(other.shards_), size_(other.size_) {}
  CowMap& operator=(const CowMap&) = delete;

  // The value under `key`, or nullptr. Valid while this map is alive and
  // not written.
  const T* Find(absl::string_view key) const {
    const size_t hash = HashOf(key);
    const Shard& shard = *shards_[ShardOf(hash)];
    auto it = shard.find(key, hash);
    return it == shard.end() ? nullptr : it->second.get();
  }
  Ptr FindPtr(absl::string_view key) const {
    const size_t hash = HashOf(key);
    const Shard& shard = *shards_[ShardOf(hash)];
    auto it = shard.find(key, hash);
    return it == shard.end() ? nullptr : it->second;
  }

  size_t size() const { return size_; }

  // Calls fn(key, value) for every entry, in no particular order.
  template <typename Fn>
  void ForEach(Fn fn) const {
    for (const auto& shard : shards_) {
      for (const auto& [key, value] : *shard) fn(key, *value);
    }
  }

  // Sets `key` to `value`.
  void Put(absl::string_view key, Ptr value) {
    const size_t hash = HashOf(key);
    Shard& shard = MutableShard(ShardOf(hash));
    auto it = shard.find(key, hash);
    if (it == shard.end()) {
      shard.emplace(std::string(key), std::move(value));
      ++size_;
      return;
    }
    owned_values_.erase(it->second.get());
    it->second = std::move(value);
  }
  void Put(absl::string_view key, T value) {
    Put(key, std::make_shared<const T>(std::move(value)));
  }

  // Removes `key` if present.
  void Erase(absl::string_view key) {
    const size_t hash = HashOf(key);
    const size_t index = ShardOf(hash);
    if (shards_[index]->find(key, hash) == shards_[index]->end()) return;
    Shard& shard = MutableShard(index);
    auto it = shard.find(key, hash);
    owned_values_.erase(it->second.get());
    shard.erase(it);
    --size_;
  }

  // The value under `key` for editing, created empty if absent. The value is
  // copied the first time it is touched through this map; later calls on
  // the same map return the same copy.
  // Forgets what this map made itself, so it no longer edits anything in
  // place. Call before publishing.
  void Seal() {
    owned_shards_.reset();
    owned_values_ = {};
  }

  T* Mutable(absl::string_view key) {
    const size_t hash = HashOf(key);
    Shard& shard = MutableShard(ShardOf(hash));
    auto it = shard.find(key, hash);
    if (it == shard.end()) {
      auto fresh = std::make_shared<T>();
      T* raw = fresh.get();
      shard.emplace(std::string(key), std::move(fresh));
      owned_values_.insert(raw);
      ++size_;
      return raw;
    }
    const T* current = it->second.get();
    if (owned_values_.contains(current)) return const_cast<T*>(current);
    auto copy = std::make_shared<T>(*current);
    T* raw = copy.get();
    it->second = std::move(copy);
    owned_values_.insert(raw);
    return raw;
  }

 private:
  static constexpr size_t kShards = 256;
  using Shard = absl::flat_hash_map<std::string, Ptr>;

  static const std::shared_ptr<const Shard>& EmptyShard() {
    static const auto* empty =
        new std::shared_ptr<const Shard>(std::make_shared<const Shard>());
    return *empty;
  }

  // The shard maps' own hash of a key, computed once per call and handed
  // to them.
  static size_t HashOf(absl::string_view key) {
    return typename Shard::hasher()(key);
  }
  // The shard is chosen by the hash's top bits; the shard maps place keys
  // by its low bits, so the keys of one shard do not all share those.
  static size_t ShardOf(size_t hash) {
    static_assert(kShards == 256, "ShardOf takes the top 8 bits");
    return hash >> (std::numeric_limits<size_t>::digits - 8);
  }

  Shard& MutableShard(size_t index) {
    if (!owned_shards_[index]) {
      shards_[index] = std::make_shared<const Shard>(*shards_[index]);
      owned_shards_[index] = true;
    }
    // Owned: copied by this map and not shared with any published state.
    return const_cast<Shard&>(*shards_[index]);
  }

  std::array<std::shared_ptr<const Shard>, kShards> shards_;
  size_t size_ = 0;
  // What this copy made itself and may therefore change in place.
  std::bitset<kShards> owned_shards_;
  absl::flat_hash_set<const T*> owned_values_;
};

}  // namespace warden::index

#endif  // WARDEN_LIBS_INDEX_COW_MAP_H_
