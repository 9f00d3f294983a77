// .npy reading and writing: round trips, hand-made files in every supported layout (independent
// of numpy: the bytes are written here from the format's specification), and broken files.
#include <cstdio>
#include <fstream>
#include <string>

#include "test_support.hpp"

namespace {

std::string temp_path(const std::string& name) {
  return std::string("mlcsc_test_") + name + "_" + std::to_string(mlcsc_test::seed()) + ".npy";
}

// A version-1.0 file with the given header dictionary and raw data bytes.
void write_raw(const std::string& path, const std::string& dict, const std::string& data,
               int version = 1) {
  std::string header = dict;
  const std::size_t pre = version == 1 ? 10 : 12;
  header.append((64 - (pre + header.size() + 1) % 64) % 64, ' ');
  header.push_back('\n');
  std::ofstream f(path, std::ios::binary);
  f.write("\x93NUMPY", 6);
  f.put(char(version));
  f.put(0);
  const std::size_t n = header.size();
  f.put(char(n & 0xff));
  f.put(char((n >> 8) & 0xff));
  if (version != 1) {
    f.put(0);
    f.put(0);
  }
  f << header << data;
}

template <class T>
std::string bytes_of(const std::vector<T>& v, bool big_endian = false) {
  std::string s(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
  if (big_endian)
    for (std::size_t k = 0; k < v.size(); ++k)
      std::reverse(s.begin() + k * sizeof(T), s.begin() + (k + 1) * sizeof(T));
  return s;
}

}  // namespace

TEMPLATE_TEST_CASE("save_npy then load_npy returns the same matrix", "[io]", float, double) {
  using Scalar = TestType;
  const auto r = mlcsc_test::uniform_int(1, 17), c = mlcsc_test::uniform_int(1, 13);
  const mlcsc::Matrix<Scalar> A = mlcsc_test::randn<Scalar>(r, c);
  const std::string path = temp_path("roundtrip");
  mlcsc::io::save_npy(path, A);
  REQUIRE((mlcsc::io::load_npy<Scalar>(path) - A).cwiseAbs().maxCoeff() == Scalar(0));
  // Row-major storage is written in C order and reads back the same.
  const Eigen::Matrix<Scalar, -1, -1, Eigen::RowMajor> Ar = A;
  mlcsc::io::save_npy(path, Ar);
  REQUIRE((mlcsc::io::load_npy<double>(path) - A.template cast<double>()).cwiseAbs().maxCoeff() ==
          0.0);
  // An expression is evaluated first.
  mlcsc::io::save_npy(path, A.transpose() * Scalar(2));
  REQUIRE((mlcsc::io::load_npy<Scalar>(path) - A.transpose() * Scalar(2)).cwiseAbs().maxCoeff() ==
          Scalar(0));
  std::remove(path.c_str());
}

TEST_CASE("load_npy reads every layout numpy writes", "[io]") {
  const std::string path = temp_path("layouts");
  // C order, little-endian float64, shape (2, 3): rows are contiguous.
  write_raw(path, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }",
            bytes_of(std::vector<double>{1, 2, 3, 4, 5, 6}));
  Eigen::MatrixXd expect(2, 3);
  expect << 1, 2, 3, 4, 5, 6;
  REQUIRE(mlcsc::io::load_npy<double>(path) == expect);
  // Fortran order: columns are contiguous.
  write_raw(path, "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }",
            bytes_of(std::vector<double>{1, 4, 2, 5, 3, 6}));
  REQUIRE(mlcsc::io::load_npy<double>(path) == expect);
  // Big-endian float32.
  write_raw(path, "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }",
            bytes_of(std::vector<float>{1, 2, 3, 4, 5, 6}, true));
  REQUIRE(mlcsc::io::load_npy<double>(path) == expect);
  // int16, 1-D -> n x 1; version 2.0 header.
  write_raw(path, "{'descr': '<i2', 'fortran_order': False, 'shape': (4,), }",
            bytes_of(std::vector<std::int16_t>{-3, 0, 7, 300}), 2);
  const Eigen::MatrixXf v = mlcsc::io::load_npy<float>(path);
  REQUIRE(v.rows() == 4);
  REQUIRE(v.cols() == 1);
  REQUIRE(v(0, 0) == -3.0f);
  REQUIRE(v(3, 0) == 300.0f);
  // uint8 and 0-D.
  write_raw(path, "{'descr': '|u1', 'fortran_order': False, 'shape': (), }",
            std::string(1, char(200)));
  const Eigen::MatrixXd s = mlcsc::io::load_npy<double>(path);
  REQUIRE(s.rows() == 1);
  REQUIRE(s(0, 0) == 200.0);
  std::remove(path.c_str());
}

TEST_CASE("load_npy rejects missing, truncated and malformed files", "[io][bad-input]") {
  const std::string path = temp_path("bad");
  auto rejects = [&](const char* what) {
    INFO(what);
    try {
      (void)mlcsc::io::load_npy<double>(path);
      FAIL("no exception");
    } catch (const std::runtime_error& e) {
      REQUIRE(std::string(e.what()).find(path) != std::string::npos);
    }
  };
  std::remove(path.c_str());
  rejects("missing file");
  { std::ofstream(path, std::ios::binary) << "\x93NUMPY garbage"; }
  rejects("garbage header");
  { std::ofstream(path, std::ios::binary) << "PK\x03\x04 not npy at all"; }
  rejects("bad magic");
  write_raw(path, "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 3), }",
            bytes_of(std::vector<double>{1, 2, 3}));
  rejects("truncated data");
  write_raw(path, "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 2, 2), }",
            bytes_of(std::vector<double>{1, 2, 3, 4}));
  rejects("3-D array");
  write_raw(path, "{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }",
            std::string(16, '\0'));
  rejects("complex dtype");
  write_raw(path, "{'descr': '<f8', 'shape': (1,), }", std::string(8, '\0'));
  rejects("no fortran_order");
  std::remove(path.c_str());
}

TEST_CASE("save_npy leaves no partial file behind", "[io][bad-input]") {
  const std::string path = "/nonexistent-dir-mlcsc/out.npy";
  REQUIRE_THROWS_AS(mlcsc::io::save_npy(path, Eigen::MatrixXd::Ones(2, 2)), std::runtime_error);
  REQUIRE_FALSE(std::ifstream(path).good());
}
