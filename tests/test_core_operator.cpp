// The operator concept as code (core/operator.hpp): is_operator_v holds for every dictionary type
// and the effective dictionary, and fails for types that lack a member of the concept, one
// member at a time. (That a pursuit given such a type fails to compile with a message naming the
// member is checked by the compile_fail tests of tests/CMakeLists.txt.)
#include "test_support.hpp"

namespace {

using ToyMat = mlcsc::Matrix<float>;

// A complete operator (the identity on 3 x B batches), and the same with one member removed: the
// members all of them share are in ToyBase.
struct ToyBase {
  using Scalar = float;
  using Signal = ToyMat;
  using Code = ToyMat;
  using CodeView = ToyMat&;
  void analyze(const ToyMat& x, ToyMat& g) const { g = x; }
  ToyMat analyze(const ToyMat& x) const { return x; }
  void synthesize(const ToyMat& g, ToyMat& x) const { x = g; }
  ToyMat synthesize(const ToyMat& g) const { return g; }
  ToyMat code_like(const ToyMat& y) const { return ToyMat::Zero(3, y.cols()); }
  ToyMat signal_like(const ToyMat& g) const { return ToyMat::Zero(3, g.cols()); }
  mlcsc::Index code_rows() const { return 3; }
  const ToyMat& signal_view(const ToyMat& y) const { return y; }
};
struct FullOperator : ToyBase {
  float lipschitz_for(const ToyMat&) const { return 1; }
  void check_signal(const ToyMat&, const char*, const char*) const {}
};
struct NoLipschitz : ToyBase {
  void check_signal(const ToyMat&, const char*, const char*) const {}
};
struct NoCheckSignal : ToyBase {
  float lipschitz_for(const ToyMat&) const { return 1; }
};
struct NoTypes {  // every member but the three types
  void analyze(const ToyMat& x, ToyMat& g) const { g = x; }
  void synthesize(const ToyMat& g, ToyMat& x) const { x = g; }
};

}  // namespace

TEST_CASE("is_operator_v: the library's operators and toys missing one member",
          "[core][operator]") {
  STATIC_REQUIRE(mlcsc::is_operator_v<mlcsc::Dictionary<float>>);
  STATIC_REQUIRE(mlcsc::is_operator_v<mlcsc::Dictionary<double>>);
  STATIC_REQUIRE(mlcsc::is_operator_v<mlcsc::ConvDictionary<float>>);
  STATIC_REQUIRE(mlcsc::is_operator_v<mlcsc::ConvDictionary<double>>);
  STATIC_REQUIRE(mlcsc::is_operator_v<mlcsc::ComposedOperator<mlcsc::Dictionary<double>>>);
  STATIC_REQUIRE(mlcsc::is_operator_v<mlcsc::ComposedOperator<mlcsc::ConvDictionary<float>>>);
  STATIC_REQUIRE(mlcsc::is_operator_v<FullOperator>);
  STATIC_REQUIRE_FALSE(mlcsc::is_operator_v<NoLipschitz>);
  STATIC_REQUIRE_FALSE(mlcsc::is_operator_v<NoCheckSignal>);
  STATIC_REQUIRE_FALSE(mlcsc::is_operator_v<NoTypes>);
  STATIC_REQUIRE_FALSE(mlcsc::is_operator_v<int>);
  STATIC_REQUIRE_FALSE(mlcsc::is_operator_v<ToyMat>);
}

TEST_CASE("a user's operator runs the generic pursuits", "[core][operator]") {
  // the identity: the Lasso's solution is soft thresholding of y, in closed form
  const ToyMat y = mlcsc_test::randn<float>(3, 5);
  mlcsc::LassoParams<float> p;
  p.lambda = 0.3f;
  p.max_iterations = 50;
  const auto r = mlcsc::lasso(FullOperator{}, y, p);
  const ToyMat ref = mlcsc::shrink(y, 0.3f, mlcsc::Shrinkage::Soft);
  REQUIRE(r.converged);
  REQUIRE((r.code - ref).cwiseAbs().maxCoeff() <= 1e-6f);  // one exact step, then no change
  const ToyMat t = mlcsc::thresholding(FullOperator{}, y, 0.3f, mlcsc::Shrinkage::Soft);
  REQUIRE((t - ref).cwiseAbs().maxCoeff() == 0.0f);
}
