// ThreadSanitizer cannot see the locking inside Debian's Abseil, which is
// built without instrumentation: to it, two threads taking turns under one
// absl::Mutex race on everything the mutex guards. This library, preloaded
// into the TSan build's processes (LD_PRELOAD, set by `tools/dev test
// --sanitize=thread`), stands in front of Abseil's Mutex, CondVar and
// Notification entry points, calls the real ones, and tells TSan the
// happens-before edges they create: a release when a lock is given up (or a
// notification sent), an acquire when one is taken (or a notification
// seen). gRPC's own locks are absl::Mutex too and are seen the same way.
// Synchronization that does not go through these calls (gRPC's lock-free
// queues and atomics inside its uninstrumented library) stays invisible.

#include <dlfcn.h>
#include <sanitizer/tsan_interface.h>

#include <cstdio>
#include <cstdlib>
#include <type_traits>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace {

// The next definition of `symbol` after this library: Abseil's own.
template <typename Fn>
Fn Real(const char* symbol) {
  void* found = dlsym(RTLD_NEXT, symbol);
  if (found == nullptr) {
    std::fprintf(stderr, "tsan_absl_sync: %s not found\n", symbol);
    std::abort();
  }
  return reinterpret_cast<Fn>(found);
}

// A condition that Abseil evaluates with the mutex held, perhaps inside
// its own uninstrumented locking or on the thread unlocking: the wrapper
// tells TSan the mutex is held while the caller's condition reads what it
// guards. It is made before the waiter gives the lock up, so the thread
// that evaluates it sees it.
struct HeldCondition {
  absl::Mutex* mu;
  const absl::Condition* cond;
};
bool EvalHeld(HeldCondition* held) {
  __tsan_acquire(held->mu);
  bool met = held->cond->Eval();
  // What the condition read is ordered before the next holder of the lock.
  __tsan_release(held->mu);
  return met;
}

// Runs `wait`, which gives `mu` up and takes it back, between a release
// and an acquire of `mu`; returns what `wait` returns.
template <typename Wait>
auto WhileUnlocked(absl::Mutex* mu, Wait wait) {
  __tsan_release(mu);
  if constexpr (std::is_void_v<decltype(wait())>) {
    wait();
    __tsan_acquire(mu);
  } else {
    auto result = wait();
    __tsan_acquire(mu);
    return result;
  }
}

// The mangled name of a non-const member of Abseil's inline namespace.
#define WARDEN_ABSL_SYMBOL(name) "_ZN4absl7debian3" name

}  // namespace

namespace absl {
ABSL_NAMESPACE_BEGIN

void Mutex::Lock() {
  static auto real =
      Real<void (*)(Mutex*)>(WARDEN_ABSL_SYMBOL("5Mutex4LockEv"));
  real(this);
  __tsan_acquire(this);
}

bool Mutex::TryLock() {
  static auto real =
      Real<bool (*)(Mutex*)>(WARDEN_ABSL_SYMBOL("5Mutex7TryLockEv"));
  bool locked = real(this);
  if (locked) __tsan_acquire(this);
  return locked;
}

void Mutex::Unlock() {
  static auto real =
      Real<void (*)(Mutex*)>(WARDEN_ABSL_SYMBOL("5Mutex6UnlockEv"));
  __tsan_release(this);
  real(this);
}

void Mutex::ReaderLock() {
  static auto real =
      Real<void (*)(Mutex*)>(WARDEN_ABSL_SYMBOL("5Mutex10ReaderLockEv"));
  real(this);
  __tsan_acquire(this);
}

void Mutex::ReaderUnlock() {
  static auto real =
      Real<void (*)(Mutex*)>(WARDEN_ABSL_SYMBOL("5Mutex12ReaderUnlockEv"));
  __tsan_release(this);
  real(this);
}

void Mutex::LockWhen(const Condition& cond) {
  static auto real = Real<void (*)(Mutex*, const Condition&)>(
      WARDEN_ABSL_SYMBOL("5Mutex8LockWhenERKNS0_9ConditionE"));
  HeldCondition held{this, &cond};
  __tsan_release(this);  // publishes `held` to whoever evaluates it
  real(this, Condition(&EvalHeld, &held));
  __tsan_acquire(this);
}

// Await and the waits of CondVar give the lock up and take it back.
void Mutex::Await(const Condition& cond) {
  static auto real = Real<void (*)(Mutex*, const Condition&)>(
      WARDEN_ABSL_SYMBOL("5Mutex5AwaitERKNS0_9ConditionE"));
  HeldCondition held{this, &cond};
  WhileUnlocked(this, [&] { real(this, Condition(&EvalHeld, &held)); });
}

bool Mutex::AwaitWithTimeout(const Condition& cond, absl::Duration timeout) {
  static auto real = Real<bool (*)(Mutex*, const Condition&, absl::Duration)>(
      WARDEN_ABSL_SYMBOL(
          "5Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE"));
  HeldCondition held{this, &cond};
  return WhileUnlocked(
      this, [&] { return real(this, Condition(&EvalHeld, &held), timeout); });
}

bool Mutex::AwaitWithDeadline(const Condition& cond, absl::Time deadline) {
  static auto real = Real<bool (*)(Mutex*, const Condition&, absl::Time)>(
      WARDEN_ABSL_SYMBOL(
          "5Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE"));
  HeldCondition held{this, &cond};
  return WhileUnlocked(
      this, [&] { return real(this, Condition(&EvalHeld, &held), deadline); });
}

void CondVar::Wait(Mutex* mu) {
  static auto real = Real<void (*)(CondVar*, Mutex*)>(
      WARDEN_ABSL_SYMBOL("7CondVar4WaitEPNS0_5MutexE"));
  WhileUnlocked(mu, [&] { real(this, mu); });
}

bool CondVar::WaitWithTimeout(Mutex* mu, absl::Duration timeout) {
  static auto real = Real<bool (*)(CondVar*, Mutex*, absl::Duration)>(
      WARDEN_ABSL_SYMBOL(
          "7CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE"));
  return WhileUnlocked(mu, [&] { return real(this, mu, timeout); });
}

bool CondVar::WaitWithDeadline(Mutex* mu, absl::Time deadline) {
  static auto real = Real<bool (*)(CondVar*, Mutex*, absl::Time)>(
      WARDEN_ABSL_SYMBOL(
          "7CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE"));
  return WhileUnlocked(mu, [&] { return real(this, mu, deadline); });
}

void Notification::Notify() {
  static auto real = Real<void (*)(Notification*)>(
      WARDEN_ABSL_SYMBOL("12Notification6NotifyEv"));
  __tsan_release(this);
  real(this);
}

void Notification::WaitForNotification() const {
  static auto real = Real<void (*)(const Notification*)>(
      "_ZNK4absl7debian312Notification19WaitForNotificationEv");
  real(this);
  __tsan_acquire(const_cast<Notification*>(this));
}

bool Notification::WaitForNotificationWithTimeout(
    absl::Duration timeout) const {
  static auto real = Real<bool (*)(const Notification*, absl::Duration)>(
      "_ZNK4absl7debian312Notification30WaitForNotificationWithTimeoutENS0_"
      "8DurationE");
  bool notified = real(this, timeout);
  if (notified) __tsan_acquire(const_cast<Notification*>(this));
  return notified;
}

ABSL_NAMESPACE_END
}  // namespace absl
