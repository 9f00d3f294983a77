// Must not compile: a type with analyze but no synthesize is not an operator, and an error
// names the missing member (tests/CMakeLists.txt checks the compiler's message).
#include <mlcsc/mlcsc.hpp>

struct HalfOperator {
  using Scalar = float;
  using Signal = mlcsc::Matrix<float>;
  using Code = mlcsc::Matrix<float>;
  using CodeView = Eigen::Ref<mlcsc::Matrix<float>>;
  void analyze(const Signal&, Code&) const {}
};

int main() {
  const mlcsc::Matrix<float> y = mlcsc::Matrix<float>::Ones(2, 2);
  (void)mlcsc::thresholding(HalfOperator{}, y, 0.1f, mlcsc::Shrinkage::Soft);
}
