// The examples' command lines: flags and their values, checked. A missing value, a value that is
// not a number (or not an integer where one is expected) and an unknown flag throw
// std::invalid_argument naming the flag.
#pragma once

#include <cmath>
#include <cstdlib>
#include <iostream>
#include <stdexcept>
#include <string>

namespace examples {

class Args {
 public:
  Args(int argc, char** argv) : argc_(argc), argv_(argv) {}

  /// The next flag into `flag`; false after the last.
  bool next(std::string& flag) {
    if (++i_ >= argc_) return false;
    flag = argv_[i_];
    return true;
  }
  /// The value that follows `flag`.
  const char* value(const std::string& flag) {
    if (i_ + 1 >= argc_) throw std::invalid_argument(flag + " needs a value");
    return argv_[++i_];
  }
  double number(const std::string& flag) {
    const char* v = value(flag);
    char* end = nullptr;
    const double d = std::strtod(v, &end);
    if (end == v || *end != '\0' || !std::isfinite(d))
      throw std::invalid_argument(flag + " expects a number, got '" + v + "'");
    return d;
  }
  int integer(const std::string& flag) {
    const double d = number(flag);
    if (d != std::floor(d) || std::abs(d) > 1e9)
      throw std::invalid_argument(flag + " expects an integer");
    return int(d);
  }
  [[noreturn]] static void unknown(const std::string& flag) {
    throw std::invalid_argument("unknown option '" + flag + "'");
  }

 private:
  int argc_;
  char** argv_;
  int i_ = 0;
};

/// Reads the command line with parse(argc, argv, options), which returns false for --help.
/// Returns -1 when the example is to run; otherwise the exit code, after the usage (on --help,
/// 0) or the error and the usage (a bad argument, 2) went to stderr.
template <class Options, class Parse, class Usage>
int read_command_line(const char* name, int argc, char** argv, Options& o, Parse parse,
                      Usage usage) {
  try {
    if (parse(argc, argv, o)) return -1;
    usage(argv[0]);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << name << ": " << e.what() << "\n";
    usage(argv[0]);
    return 2;
  }
}

}  // namespace examples
