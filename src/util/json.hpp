#pragma once
// A minimal streaming JSON writer. Numbers are printed with a fixed format so that the same
// values give the same bytes on every run (the simulator's byte-for-byte reproducibility).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace aladdin {

class json_writer {
 public:
  json_writer& begin_object();
  json_writer& end_object();
  json_writer& begin_array();
  json_writer& end_array();
  json_writer& key(std::string_view k);

  json_writer& value(std::string_view s);
  json_writer& value(const char* s) { return value(std::string_view{s}); }
  json_writer& value(double d);
  json_writer& value(std::int64_t i);
  json_writer& value(int i) { return value(static_cast<std::int64_t>(i)); }
  json_writer& value(std::size_t i) { return value(static_cast<std::int64_t>(i)); }
  json_writer& value(bool b);
  json_writer& null();

  template <class T>
  json_writer& field(std::string_view k, const T& v) {
    key(k);
    return value(v);
  }

  const std::string& str() const { return out_; }

  static std::string escape(std::string_view s);

 private:
  void separate();
  std::string out_;
  // One entry per open container: true once it holds an element.
  std::vector<bool> has_element_;
  bool after_key_ = false;
};

}  // namespace aladdin
