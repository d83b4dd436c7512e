// Writes the channel targets' seed corpora: one frame per message of each channel, encoded by
// the channel codecs from the plain samples the schema tests use (tests/schema/message_samples.hpp),
// each prefixed by the misalignment byte the targets read first (fuzz_support.hpp).
//
//   aladdin_fuzz_seeds tests/fuzz/corpus      (writes client_frame/ and worker_frame/)

#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "tests/schema/message_samples.hpp"

using namespace aladdin;

namespace {

void write_frame(const std::filesystem::path& dir, const std::string& name, const codec::encoded_message& m) {
  std::filesystem::create_directories(dir);
  std::ofstream out(dir / name, std::ios::binary);
  const char misalignment = 3;
  out.write(&misalignment, 1);
  out.write(reinterpret_cast<const char*>(m.bytes().data()), static_cast<std::streamsize>(m.size()));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: aladdin_fuzz_seeds CORPUS_DIR\n";
    return 2;
  }
  const std::filesystem::path root = argv[1];
  const auto header = test::sample_header();
  for (const auto& [name, m] : test::client_plain_samples())
    write_frame(root / "client_frame", name, client_channel::encode(header, m));
  for (const auto& [name, m] : test::worker_plain_samples())
    write_frame(root / "worker_frame", name, worker_channel::encode(header, m));
  return 0;
}
