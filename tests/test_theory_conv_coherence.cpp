// Tests of theory/conv_coherence.hpp: the mutual coherence of a convolutional dictionary against
// the coherence of its explicit global matrix (circular, signals of at least (2kh-1) x (2kw-1), so
// that every relative shift appears exactly once).
#include <cmath>
#include <stdexcept>

#include "test_support.hpp"

using mlcsc::Boundary;
using mlcsc::ConvDictionary;
using mlcsc::FeatureMaps;
using mlcsc::Index;

using mlcsc_test::global_matrix;

TEMPLATE_TEST_CASE("mutual_coherence(ConvDictionary) equals the global matrix's coherence",
                   "[theory][conv_coherence]", float, double) {
  // Both are computed in double from the same filter values; the result is rounded to Scalar.
  const double tol = std::is_same_v<TestType, float> ? 1e-6 : 1e-12;
  for (int trial = 0; trial < 8; ++trial) {
    const Index K = mlcsc_test::uniform_int(1, 4), C = mlcsc_test::uniform_int(1, 3);
    const Index kh = mlcsc_test::uniform_int(1, 4), kw = mlcsc_test::uniform_int(K == 1 ? 2 : 1, 4);
    const Index H = 2 * kh - 1 + mlcsc_test::uniform_int(0, 2);
    const Index W = 2 * kw - 1 + mlcsc_test::uniform_int(0, 2);
    INFO("K " << K << " C " << C << " kh " << kh << " kw " << kw << " H " << H << " W " << W);
    ConvDictionary<TestType> D(K, C, kh, kw, Boundary::Circular);
    D.filters() = mlcsc_test::randn<TestType>(K, C * kh * kw);
    // unnormalized on purpose: the coherence normalizes
    const double mu = double(mlcsc::mutual_coherence(D));
    const double mu_global =
        double(mlcsc::mutual_coherence(mlcsc::Dictionary<double>(global_matrix(D, H, W))));
    CHECK(std::abs(mu - mu_global) <= tol * std::max(1.0, mu_global));
    CHECK(mu <= 1.0);
  }
}

TEMPLATE_TEST_CASE("mutual_coherence(ConvDictionary): shifts matter", "[theory][conv_coherence]",
                   float, double) {
  // Two orthogonal filters whose shifted copies coincide: the filters' own Gram matrix says 0,
  // the global dictionary says 1.
  ConvDictionary<TestType> D(2, 1, 1, 3);
  D.filter(0, 0) << TestType(1), TestType(0), TestType(0);
  D.filter(1, 0) << TestType(0), TestType(1), TestType(0);
  CHECK(double(mlcsc::mutual_coherence(D)) == 1.0);
  // a single filter against its own shifts
  ConvDictionary<TestType> S(1, 1, 1, 2);
  S.filter(0, 0) << TestType(1), TestType(1);
  CHECK(std::abs(double(mlcsc::mutual_coherence(S)) - 0.5) <= 1e-7);
  // channels sum: two channels that cancel at shift 1
  ConvDictionary<TestType> P(1, 2, 1, 2);
  P.filter(0, 0) << TestType(1), TestType(1);
  P.filter(0, 1) << TestType(1), TestType(-1);
  CHECK(double(mlcsc::mutual_coherence(P)) <= 1e-7);
}

TEMPLATE_TEST_CASE("mutual_coherence(ConvDictionary): bad input", "[theory][conv_coherence]", float,
                   double) {
  ConvDictionary<TestType> D(3, 1, 2, 2);
  D.filter(0, 0).setOnes();
  D.filter(1, 0).setOnes();
  REQUIRE_THROWS_AS(mlcsc::mutual_coherence(D), std::invalid_argument);  // filter 2 is zero
  ConvDictionary<TestType> one(1, 2, 1, 1);
  one.filters().setOnes();
  REQUIRE_THROWS_AS(mlcsc::mutual_coherence(one), std::invalid_argument);  // a single atom
}
