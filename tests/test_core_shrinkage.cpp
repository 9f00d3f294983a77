// Shrinkage operators against their scalar definitions, on random odd shapes.
#include <cmath>

#include "test_support.hpp"

using mlcsc::Shrinkage;

template <class Scalar>
Scalar reference(Scalar x, Scalar b, Shrinkage kind) {
  switch (kind) {
    case Shrinkage::Soft:
      return x > 0 ? std::max(x - b, Scalar(0)) : -std::max(-x - b, Scalar(0));
    case Shrinkage::Hard:
      return std::abs(x) > b ? x : Scalar(0);
    case Shrinkage::NonnegSoft:
      return std::max(x - b, Scalar(0));
  }
  return 0;
}

TEMPLATE_TEST_CASE("shrink matches the scalar definitions", "[shrinkage]", float, double) {
  using Scalar = TestType;
  const auto rows = mlcsc_test::uniform_int(1, 37), cols = mlcsc_test::uniform_int(1, 9);
  const mlcsc::Matrix<Scalar> x = mlcsc_test::randn<Scalar>(rows, cols);
  for (Shrinkage kind : {Shrinkage::Soft, Shrinkage::Hard, Shrinkage::NonnegSoft}) {
    SECTION(mlcsc::to_string(kind)) {
      const Scalar b = Scalar(0.37);
      const mlcsc::Matrix<Scalar> s = mlcsc::shrink(x, b, kind);
      const mlcsc::Vector<Scalar> per_row = mlcsc::Vector<Scalar>::LinSpaced(rows, 0.1, 1.3);
      const mlcsc::Matrix<Scalar> sv = mlcsc::shrink(x, per_row, kind);
      for (mlcsc::Index j = 0; j < cols; ++j)
        for (mlcsc::Index i = 0; i < rows; ++i) {
          REQUIRE(s(i, j) == reference(x(i, j), b, kind));
          REQUIRE(sv(i, j) == reference(x(i, j), per_row(i), kind));
        }
    }
  }
}

TEST_CASE("NonnegSoft is ReLU(x - b) for thresholds of either sign", "[shrinkage]") {
  const Eigen::ArrayXXd x = mlcsc_test::randn<double>(13, 5).array();
  for (double b : {-0.5, 0.0, 0.25}) {
    const Eigen::ArrayXXd s = mlcsc::shrink(x, b, Shrinkage::NonnegSoft);
    REQUIRE((s - (x - b).max(0.0)).abs().maxCoeff() == 0.0);
  }
  // soft = sign(x) max(|x| - b, 0)
  const Eigen::ArrayXXd soft = mlcsc::shrink(x, 0.3, Shrinkage::Soft);
  REQUIRE((soft - x.sign() * (x.abs() - 0.3).max(0.0)).abs().maxCoeff() == 0.0);
}

TEST_CASE("shrink rejects bad thresholds and non-finite input", "[shrinkage][bad-input]") {
  Eigen::MatrixXd x = Eigen::MatrixXd::Ones(3, 2);
  REQUIRE_THROWS_AS(mlcsc::shrink(x, -0.1, Shrinkage::Soft), std::invalid_argument);
  REQUIRE_THROWS_AS(mlcsc::shrink(x, -0.1, Shrinkage::Hard), std::invalid_argument);
  REQUIRE_THROWS_AS(mlcsc::shrink(x, std::nan(""), Shrinkage::NonnegSoft), std::invalid_argument);
  REQUIRE_THROWS_AS(mlcsc::shrink(x, Eigen::VectorXd::Ones(2), Shrinkage::Soft),
                    std::invalid_argument);
  x(1, 1) = INFINITY;
  REQUIRE_THROWS_AS(mlcsc::shrink(x, 0.1, Shrinkage::Soft), std::invalid_argument);
}
