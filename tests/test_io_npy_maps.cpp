// io/npy_maps.hpp: feature maps and filter banks as .npy arrays in PyTorch's layouts, against
// files whose bytes are written here from the format's specification (independent of numpy and
// of the library's writer), round trips, and files of the wrong rank or dtype.
#include <cstdio>
#include <fstream>
#include <string>

#include "test_support.hpp"

namespace {

std::string npym_path(const std::string& name) {
  return std::string("mlcsc_test_maps_") + name + "_" + std::to_string(mlcsc_test::seed()) + ".npy";
}

// A version-1.0 file with the header dictionary `dict` and float64 values v (little-endian).
void npym_write(const std::string& path, const std::string& dict, const std::vector<double>& v) {
  std::string header = dict;
  header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');
  header.push_back('\n');
  std::ofstream f(path, std::ios::binary);
  f.write("\x93NUMPY\x01\x00", 8);
  f.put(char(header.size() & 0xff));
  f.put(char(header.size() >> 8));
  f.write(header.data(), std::streamsize(header.size()));
  for (double d : v) {
    unsigned char b[8];
    std::memcpy(b, &d, 8);  // the test machines are little-endian (x86-64, arm64)
    f.write(reinterpret_cast<const char*>(b), 8);
  }
}

}  // namespace

TEMPLATE_TEST_CASE("load_feature_maps: (N, C, H, W), (C, H, W) and (H, W) in C order", "[io][npy]",
                   float, double) {
  const std::string p = npym_path("nchw");
  // value at (n, c, i, j) = 1000 n + 100 c + 10 i + j, written in C order
  std::vector<double> v;
  for (int n = 0; n < 2; ++n)
    for (int c = 0; c < 3; ++c)
      for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 5; ++j) v.push_back(1000 * n + 100 * c + 10 * i + j);
  npym_write(p, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3, 4, 5), }", v);
  auto x = mlcsc::io::load_feature_maps<TestType>(p);
  REQUIRE((x.batch() == 2 && x.channels() == 3 && x.height() == 4 && x.width() == 5));
  for (int n = 0; n < 2; ++n)
    for (int c = 0; c < 3; ++c)
      for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 5; ++j)
          CHECK(x.channel(n, c)(i, j) == TestType(1000 * n + 100 * c + 10 * i + j));
  // (C, H, W): one image
  npym_write(p, "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4, 10), }", v);
  auto y = mlcsc::io::load_feature_maps<TestType>(p);
  REQUIRE((y.batch() == 1 && y.channels() == 3 && y.height() == 4 && y.width() == 10));
  CHECK(y.channel(0, 2)(3, 9) == TestType(v[2 * 40 + 3 * 10 + 9]));
  // (H, W): one channel of one image
  npym_write(p, "{'descr': '<f8', 'fortran_order': False, 'shape': (12, 10), }", v);
  auto z = mlcsc::io::load_feature_maps<TestType>(p);
  REQUIRE((z.batch() == 1 && z.channels() == 1 && z.height() == 12 && z.width() == 10));
  CHECK(z.channel(0)(11, 9) == TestType(v[119]));
  std::remove(p.c_str());
}

TEST_CASE("load_feature_maps: a Fortran-order 3-D array is transposed into NCHW", "[io][npy]") {
  const std::string p = npym_path("fortran");
  // shape (2, 3, 4): in Fortran order index 0 runs fastest; value(c, i, j) = 100 c + 10 i + j
  std::vector<double> v;
  for (int j = 0; j < 4; ++j)
    for (int i = 0; i < 3; ++i)
      for (int c = 0; c < 2; ++c) v.push_back(100 * c + 10 * i + j);
  npym_write(p, "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3, 4), }", v);
  auto x = mlcsc::io::load_feature_maps<double>(p);
  REQUIRE((x.channels() == 2 && x.height() == 3 && x.width() == 4));
  for (int c = 0; c < 2; ++c)
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 4; ++j) CHECK(x.channel(c)(i, j) == 100 * c + 10 * i + j);
  std::remove(p.c_str());
}

TEMPLATE_TEST_CASE("feature maps and filter banks round-trip through .npy", "[io][npy]", float,
                   double) {
  const std::string p = npym_path("round");
  const auto n = mlcsc_test::uniform_int(1, 3), c = mlcsc_test::uniform_int(1, 4);
  mlcsc::FeatureMaps<TestType> x(n, c, mlcsc_test::uniform_int(1, 9),
                                 mlcsc_test::uniform_int(1, 11));
  x.data() = mlcsc_test::randn<TestType>(x.data().rows(), x.data().cols());
  mlcsc::io::save_npy(p, x);
  const auto y = mlcsc::io::load_feature_maps<TestType>(p);
  REQUIRE(y.same_shape(x));
  CHECK(y.data() == x.data());
  // the header names the 4-D shape
  {
    std::ifstream f(p, std::ios::binary);
    std::string head(128, '\0');
    f.read(head.data(), 128);
    CHECK(head.find("'shape': (" + std::to_string(n) + ", " + std::to_string(c) + ", ") !=
          std::string::npos);
  }
  auto D = mlcsc_test::random_conv<TestType>(5, 3, 2, 4, mlcsc::Boundary::Zero);
  mlcsc::io::save_npy(p, D);
  const auto E = mlcsc::io::load_conv_dictionary<TestType>(p, mlcsc::Boundary::Valid);
  CHECK((E.num_filters() == 5 && E.channels() == 3 && E.kernel_height() == 2 &&
         E.kernel_width() == 4 && E.boundary() == mlcsc::Boundary::Valid));
  CHECK(E.filters() == D.filters());
  CHECK(E.filter(4, 2)(1, 3) == D.filter(4, 2)(1, 3));
  std::remove(p.c_str());
}

TEST_CASE("load_conv_dictionary: torch's (K, C, kh, kw) and (K, C, k) weights", "[io][npy]") {
  const std::string p = npym_path("weights");
  std::vector<double> v;
  for (int i = 0; i < 2 * 3 * 2 * 5; ++i) v.push_back(i);
  npym_write(p, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3, 2, 5), }", v);
  auto D = mlcsc::io::load_conv_dictionary<double>(p);
  // weight[k, c, u, v] = ((k 3 + c) 2 + u) 5 + v
  CHECK(D.filter(1, 2)(1, 4) == ((1 * 3 + 2) * 2 + 1) * 5 + 4);
  npym_write(p, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3, 10), }", v);
  auto E = mlcsc::io::load_conv_dictionary<double>(p);
  CHECK((E.kernel_height() == 1 && E.kernel_width() == 10));
  CHECK(E.filter(1, 0)(0, 7) == 37);
  std::remove(p.c_str());
}

TEST_CASE("npy arrays of the wrong rank or dtype are rejected with std::runtime_error",
          "[io][npy]") {
  const std::string p = npym_path("bad");
  std::vector<double> v(24, 1.0);
  npym_write(p, "{'descr': '<f8', 'fortran_order': False, 'shape': (24,), }", v);
  CHECK_THROWS_AS(mlcsc::io::load_feature_maps<float>(p), std::runtime_error);
  CHECK_THROWS_AS(mlcsc::io::load_conv_dictionary<float>(p), std::runtime_error);
  npym_write(p, "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 2, 3, 2, 2), }", v);
  CHECK_THROWS_AS(mlcsc::io::load_feature_maps<float>(p), std::runtime_error);
  npym_write(p, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3, 4), }", v);
  CHECK_THROWS_AS(mlcsc::io::load_npy<float>(p), std::runtime_error);  // 3-D is not a matrix
  try {
    (void)mlcsc::io::load_npy<float>(p);
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).find("(2, 3, 4)") != std::string::npos);
  }
  npym_write(p, "{'descr': '<c16', 'fortran_order': False, 'shape': (2, 3, 2), }", v);
  CHECK_THROWS_AS(mlcsc::io::load_feature_maps<float>(p), std::runtime_error);
  npym_write(p, "{'descr': '<f8', 'fortran_order': False, 'shape': (0, 3, 2, 2), }", {});
  CHECK_THROWS_AS(mlcsc::io::load_conv_dictionary<float>(p), std::runtime_error);
  std::remove(p.c_str());
}
