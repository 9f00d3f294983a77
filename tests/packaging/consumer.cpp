// Codes a signal that is exactly one atom and checks the Lasso finds that atom.
#include <mlcsc/mlcsc.hpp>

#include <cstdio>

int main() {
  Eigen::MatrixXd A = Eigen::MatrixXd::Identity(8, 8);
  mlcsc::Dictionary<double> D(A);
  Eigen::MatrixXd y = Eigen::MatrixXd::Zero(8, 1);
  y(3, 0) = 2.0;
  mlcsc::LassoParams<double> p;
  p.lambda = 0.5;
  const auto r = mlcsc::lasso(D, y, p);
  // Orthonormal D: the Lasso is soft thresholding, g_3 = 2 - 0.5.
  const bool ok = r.converged && std::abs(r.code(3, 0) - 1.5) < 1e-9 && r.code.cwiseAbs().sum() < 1.5 + 1e-9;
  std::printf("consumer: %s\n", ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}
