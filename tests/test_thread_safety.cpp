// Const operations on a shared dictionary or model, called from several std::threads at once,
// give the results of the same calls made serially (run under the `tsan` preset for
// ThreadSanitizer). The convolutional Lipschitz cache is exercised with several shapes at once.
#include <thread>
#include <vector>

#include "test_support.hpp"

using mlcsc_test::random_maps;

using mlcsc_test::kThreads;
using mlcsc_test::run_concurrently;

TEST_CASE("a shared dense dictionary is safe to use from several threads", "[threads]") {
#ifdef EIGEN_RUNTIME_NO_MALLOC
  // Eigen's malloc guard is one process-wide flag: a solver loop in one thread would flag the
  // set-up allocations of another. Thread safety is tested in the builds without the guard.
  WARN("skipped: EIGEN_RUNTIME_NO_MALLOC is process-wide");
  return;
#endif
  const auto D = mlcsc_test::random_dictionary<double>(24, 61);
  std::vector<Eigen::MatrixXd> Y;
  for (int t = 0; t < kThreads; ++t) Y.push_back(mlcsc_test::randn<double>(24, 5 + t));
  mlcsc::LassoParams<double> p;
  p.lambda = 0.3;
  std::vector<Eigen::MatrixXd> serial_fista, serial_cd;
  for (int t = 0; t < kThreads; ++t) {
    p.method = mlcsc::Method::FISTA;
    serial_fista.push_back(mlcsc::lasso(D, Y[t], p).code);
    p.method = mlcsc::Method::CoordinateDescent;
    serial_cd.push_back(mlcsc::lasso(D, Y[t], p).code);
  }
  std::vector<Eigen::MatrixXd> par_fista(kThreads), par_cd(kThreads);
  run_concurrently([&](int t) {
    auto q = p;
    for (int rep = 0; rep < 3; ++rep) {
      q.method = mlcsc::Method::FISTA;
      par_fista[t] = mlcsc::lasso(D, Y[t], q).code;
      q.method = mlcsc::Method::CoordinateDescent;
      par_cd[t] = mlcsc::lasso(D, Y[t], q).code;
    }
  });
  // Identical arithmetic in the same order: equal up to the last bits (OpenMP may split the
  // batch differently inside a nested call, so allow a few ulps).
  for (int t = 0; t < kThreads; ++t) {
    REQUIRE((par_fista[t] - serial_fista[t]).cwiseAbs().maxCoeff() <= 1e-12);
    REQUIRE((par_cd[t] - serial_cd[t]).cwiseAbs().maxCoeff() <= 1e-12);
  }
}

TEST_CASE("a shared convolutional dictionary and its Lipschitz cache are thread-safe",
          "[threads]") {
#ifdef EIGEN_RUNTIME_NO_MALLOC
  // Eigen's malloc guard is one process-wide flag: a solver loop in one thread would flag the
  // set-up allocations of another. Thread safety is tested in the builds without the guard.
  WARN("skipped: EIGEN_RUNTIME_NO_MALLOC is process-wide");
  return;
#endif
  for (auto b : {mlcsc::Boundary::Circular, mlcsc::Boundary::Zero}) {
    mlcsc::ConvDictionary<double> D(5, 2, 3, 4, b);
    for (mlcsc::Index k = 0; k < 5; ++k)
      for (mlcsc::Index c = 0; c < 2; ++c) D.filter(k, c) = mlcsc_test::randn<double>(3, 4);
    D.normalize();
    std::vector<mlcsc::FeatureMaps<double>> x;
    for (int t = 0; t < kThreads; ++t) x.push_back(random_maps<double>(2, 9 + t, 11 + 2 * t));
    // Concurrent first use of the cache for every shape, then compare with a fresh serial copy.
    std::vector<double> par_L(kThreads);
    std::vector<mlcsc::FeatureMaps<double>> par_code(kThreads);
    mlcsc::LassoParams<double> p;
    p.lambda = 0.2;
    p.max_iterations = 60;
    run_concurrently([&](int t) {
      par_L[t] = D.lipschitz(x[t].height(), x[t].width());
      par_code[t] = mlcsc::lasso(D, x[t], p).code;
    });
    const mlcsc::ConvDictionary<double> fresh = D;
    for (int t = 0; t < kThreads; ++t) {
      REQUIRE(par_L[t] == fresh.lipschitz(x[t].height(), x[t].width()));
      const auto serial = mlcsc::lasso(fresh, x[t], p).code;
      REQUIRE((par_code[t].data() - serial.data()).cwiseAbs().maxCoeff() <= 1e-12);
    }
  }
}

TEST_CASE("a shared multi-layer model is safe to use from several threads", "[threads]") {
#ifdef EIGEN_RUNTIME_NO_MALLOC
  // Eigen's malloc guard is one process-wide flag: a solver loop in one thread would flag the
  // set-up allocations of another. Thread safety is tested in the builds without the guard.
  WARN("skipped: EIGEN_RUNTIME_NO_MALLOC is process-wide");
  return;
#endif
  mlcsc::MultiLayer<mlcsc::ConvDictionary<double>> net;
  mlcsc::ConvDictionary<double> D1(4, 1, 3, 3, mlcsc::Boundary::Zero),
      D2(6, 4, 3, 3, mlcsc::Boundary::Zero);
  for (mlcsc::Index k = 0; k < 4; ++k) D1.filter(k, 0) = mlcsc_test::randn<double>(3, 3);
  for (mlcsc::Index k = 0; k < 6; ++k)
    for (mlcsc::Index c = 0; c < 4; ++c) D2.filter(k, c) = mlcsc_test::randn<double>(3, 3);
  D1.normalize();
  D2.normalize();
  net.add_layer(D1, 0.1);
  net.add_layer(D2, 0.2);
  std::vector<mlcsc::FeatureMaps<double>> x;
  for (int t = 0; t < kThreads; ++t) x.push_back(random_maps<double>(1, 12 + t, 10));
  std::vector<mlcsc::LassoParams<double>> per_layer(2);
  per_layer[0].lambda = 0.1;
  per_layer[1].lambda = 0.05;
  per_layer[0].max_iterations = per_layer[1].max_iterations = 30;
  std::vector<std::vector<mlcsc::FeatureMaps<double>>> par_fw(kThreads), par_ll(kThreads);
  run_concurrently([&](int t) {
    par_fw[t] = net.layered_thresholding(x[t]);
    for (const auto& r : net.layered_lasso(x[t], per_layer)) par_ll[t].push_back(r.code);
  });
  for (int t = 0; t < kThreads; ++t) {
    const auto fw = net.layered_thresholding(x[t]);
    const auto ll = net.layered_lasso(x[t], per_layer);
    for (size_t l = 0; l < 2; ++l) {
      REQUIRE((par_fw[t][l].data() - fw[l].data()).cwiseAbs().maxCoeff() <= 1e-12);
      REQUIRE((par_ll[t][l].data() - ll[l].code.data()).cwiseAbs().maxCoeff() <= 1e-12);
    }
  }
}

TEST_CASE("pursuits called inside a caller's OpenMP parallel region give the serial results",
          "[threads]") {
#ifdef EIGEN_RUNTIME_NO_MALLOC
  WARN("skipped: EIGEN_RUNTIME_NO_MALLOC is process-wide");
  return;
#endif
#ifndef _OPENMP
  WARN("skipped: built without OpenMP");
  return;
#else
  // Inside a caller's region the library runs serially, and its per-thread workspaces have one
  // entry: they must be indexed 0, not by the caller's thread number (the ADMM solver read its
  // second FFT plan out of bounds there).
  mlcsc::ConvDictionary<double> C(4, 1, 3, 3, mlcsc::Boundary::Circular);
  for (mlcsc::Index k = 0; k < 4; ++k) C.filter(k, 0) = mlcsc_test::randn<double>(3, 3);
  C.normalize();
  mlcsc::FeatureMaps<double> x(2, 1, 13, 11);
  x.data() = mlcsc_test::randn<double>(x.data().rows(), x.data().cols());
  mlcsc::LassoParams<double> admm;
  admm.lambda = 0.1;
  admm.method = mlcsc::Method::ADMM;
  admm.max_iterations = 30;
  const auto D = mlcsc_test::random_dictionary<double>(17, 41);
  const Eigen::MatrixXd Y = mlcsc_test::randn<double>(17, 150);
  mlcsc::LassoParams<double> cd;
  cd.lambda = 0.2;
  cd.method = mlcsc::Method::CoordinateDescent;
  mlcsc::OmpParams<double> op;
  op.max_atoms = 5;
  const Eigen::MatrixXd admm_serial = mlcsc::lasso(C, x, admm).code.data();
  const Eigen::MatrixXd cd_serial = mlcsc::lasso(D, Y, cd).code;
  const Eigen::MatrixXd omp_serial = mlcsc::omp(D, Y, op).code;
  int mismatches = 0;
#pragma omp parallel num_threads(kThreads) reduction(+ : mismatches)
  for (int rep = 0; rep < 2; ++rep) {
    mismatches += mlcsc::lasso(C, x, admm).code.data() != admm_serial;
    mismatches += mlcsc::lasso(D, Y, cd).code != cd_serial;
    mismatches += mlcsc::omp(D, Y, op).code != omp_serial;
  }
  REQUIRE(mismatches == 0);
#endif
}
