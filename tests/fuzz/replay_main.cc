// Runs a fuzz target's LLVMFuzzerTestOneInput over files, without libFuzzer:
// how the normal (gcc) build and `tools/dev test` check every committed
// corpus input against the same properties the fuzzer checks. A property
// that fails aborts, which fails the test.
//
// Usage: <target>_replay FILE_OR_DIRECTORY...

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

int Replay(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", file.c_str());
    return 1;
  }
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                          std::istreambuf_iterator<char>());
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()),
                         bytes.size());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int inputs = 0;
  int errors = 0;
  for (int i = 1; i < argc; ++i) {
    std::filesystem::path path(argv[i]);
    if (std::filesystem::is_directory(path)) {
      for (const auto& entry : std::filesystem::directory_iterator(path)) {
        if (!entry.is_regular_file()) continue;
        errors += Replay(entry.path());
        ++inputs;
      }
    } else {
      errors += Replay(path);
      ++inputs;
    }
  }
  std::printf("replayed %d inputs\n", inputs);
  // No input at all means a wrong path, not a pass.
  return errors > 0 || inputs == 0 ? 1 : 0;
}
