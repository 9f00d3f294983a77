// Must not compile: orthogonal matching pursuit needs a dense Dictionary (tests/CMakeLists.txt
// checks the compiler's message).
#include <mlcsc/mlcsc.hpp>

int main() {
  const mlcsc::ConvDictionary<float> D(2, 1, 3, 3);
  const mlcsc::FeatureMaps<float> x(1, 8, 8);
  mlcsc::OmpParams<float> p;
  (void)mlcsc::omp(D, x, p);
}
