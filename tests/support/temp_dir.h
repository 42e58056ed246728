#ifndef WARDEN_TESTS_SUPPORT_TEMP_DIR_H_
#define WARDEN_TESTS_SUPPORT_TEMP_DIR_H_

#include <string>

namespace warden::testing {

// A fresh directory under the test temp dir, removed with everything in it
// when the object goes away.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name.
  std::string Sub(const std::string& name) const;

 private:
  std::string path_;
};

// Every regular file below `dir`, read whole, concatenated. Used to scan a
// data directory for secrets.
std::string ReadAllFiles(const std::string& dir);

}  // namespace warden::testing

#endif  // WARDEN_TESTS_SUPPORT_TEMP_DIR_H_
