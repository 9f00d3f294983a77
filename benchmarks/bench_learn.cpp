// bench_learn: dictionary learning, one thread, on the data that benchmarks/compare/ writes.
//
//   bench_learn --dir DIR [--epochs E] [--forgetting RHO] [--shuffle 0|1]
//     dense: DIR/train.npy (64 x 100,000 patches), DIR/D0.npy (the initial 64 x 256 atoms) and
//     DIR/lambda.txt from benchmarks/compare/sklearn_dict_learn.py. Learns with
//     DictLearnMethod::Online at batch size 256 from D0, in double and in float, and prints
//     `mlcsc_<type>_seconds` (wall) and `mlcsc_<type>_cpu_seconds` (the thread's CPU clock),
//     writing the dictionaries to DIR/mlcsc_<type>.npy; the script evaluates them on held-out
//     patches the same way as scikit-learn's. The time includes the per-epoch objective (one more
//     exact Lasso pass over the data): learn_dictionary always reports it.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <string>

#include <mlcsc/mlcsc.hpp>
#ifdef _OPENMP
#include <omp.h>
#endif

namespace {

double cpu_now() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

bool exists(const std::string& path) {
  return std::ifstream(path).good();
}

template <class Scalar>
void dense(const std::string& dir, const char* name, int epochs, double forgetting, bool shuffle) {
  const mlcsc::Matrix<Scalar> Y = mlcsc::io::load_npy<Scalar>(dir + "/train.npy");
  const mlcsc::Matrix<Scalar> D0 = mlcsc::io::load_npy<Scalar>(dir + "/D0.npy");
  double lambda = 0;
  std::ifstream(dir + "/lambda.txt") >> lambda;
  mlcsc::DictLearnParams<Scalar> p;
  p.num_atoms = D0.cols();
  p.lambda = Scalar(lambda);
  p.epochs = epochs;
  p.batch_size = 256;
  p.initial_dictionary = D0;
  p.shuffle = shuffle;
  if (forgetting >= 0) p.forgetting = Scalar(forgetting);
  const auto t0 = std::chrono::steady_clock::now();
  const double c0 = cpu_now();
  const auto r = mlcsc::learn_dictionary(Y, p);
  const double cpu = cpu_now() - c0;
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("mlcsc_%s_seconds %.4f\nmlcsc_%s_cpu_seconds %.4f\n", name, wall, name, cpu);
  std::printf("# %s: %zu epoch(s), training objective per signal %.8g, %ld atoms replaced\n", name,
              r.objective.size(), double(r.objective.back()) / double(Y.cols()),
              long(r.replaced_atoms));
  mlcsc::io::save_npy(dir + "/mlcsc_" + name + ".npy", r.dictionary.matrix());
}

template <class Scalar>
void conv(const std::string& dir, const char* name, int iterations, int coding, int filter) {
  const auto images = mlcsc::io::load_feature_maps<Scalar>(dir + "/cdl_images.npy");
  const auto D0 = mlcsc::io::load_feature_maps<Scalar>(dir + "/cdl_D0.npy");
  double lambda = 0, target = 0, sporco_seconds = 0;
  {
    std::ifstream f(dir + "/cdl_target.txt");
    std::string key, dtype;
    f >> key >> lambda;
    double obj, sec;
    while (f >> dtype >> obj >> sec)
      if (dtype == (sizeof(Scalar) == 4 ? "float32" : "float64"))
        target = obj, sporco_seconds = sec;
  }
  mlcsc::ConvDictLearnParams<Scalar> p;
  p.num_filters = D0.batch();
  p.kernel_height = D0.height();
  p.kernel_width = D0.width();
  p.lambda = Scalar(lambda);
  p.iterations = iterations;
  p.zero_mean = true;
  p.initial_filters = D0;
  if (coding > 0) p.coding_iterations = coding;
  if (filter > 0) p.filter_iterations = filter;
  const auto t0 = std::chrono::steady_clock::now();
  double reached = -1;
  p.callback = [&](int it, Scalar obj) {
    const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (reached < 0 && double(obj) <= target) reached = t;
    if (it % 10 == 0 || it == 1)
      std::printf("# %s iteration %4d  %8.3f s  objective %.6f\n", name, it, t, double(obj));
    return true;
  };
  const auto r = mlcsc::learn_conv_dictionary(images, p);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("cdl_%s_seconds %.3f\ncdl_%s_final_objective %.6f\n", name, wall, name,
              double(r.objective.back()));
  std::printf("# %s: SPORCO's final objective %.6f in %.1f s; mlcsc reached it in %s\n", name,
              target, sporco_seconds,
              reached < 0 ? "(not reached)"
                          : (std::to_string(reached) +
                             " s: " + std::to_string(sporco_seconds / reached) + "x")
                                .c_str());
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = "/tmp/dict_learn", cdl_dir;
  int iterations = 200, coding = 0, filter = 0;
  int epochs = 1;
  double forgetting = -1;
  bool shuffle = false, float_only = false;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--dir")
      dir = argv[i + 1];
    else if (a == "--epochs")
      epochs = std::atoi(argv[i + 1]);
    else if (a == "--forgetting")
      forgetting = std::atof(argv[i + 1]);
    else if (a == "--cdl-dir")
      cdl_dir = argv[i + 1];
    else if (a == "--iterations")
      iterations = std::atoi(argv[i + 1]);
    else if (a == "--coding-iterations")
      coding = std::atoi(argv[i + 1]);
    else if (a == "--filter-iterations")
      filter = std::atoi(argv[i + 1]);
    else if (a == "--float-only")
      float_only = std::atoi(argv[i + 1]) != 0;
    else if (a == "--shuffle")
      shuffle = std::atoi(argv[i + 1]) != 0;
  }
#ifdef _OPENMP
  omp_set_num_threads(1);
#endif
  if (!cdl_dir.empty()) {
    if (!exists(cdl_dir + "/cdl_images.npy")) {
      std::printf("# no data in %s (benchmarks/compare/sporco_cbpdndl.py)\n", cdl_dir.c_str());
      return 0;
    }
    if (!float_only) conv<double>(cdl_dir, "double", iterations, coding, filter);
    conv<float>(cdl_dir, "float", iterations, coding, filter);
    return 0;
  }
  if (exists(dir + "/train.npy") && exists(dir + "/D0.npy")) {
    dense<double>(dir, "double", epochs, forgetting, shuffle);
    dense<float>(dir, "float", epochs, forgetting, shuffle);
  } else {
    std::printf("# no dense data in %s (benchmarks/compare/sklearn_dict_learn.py --dump-only)\n",
                dir.c_str());
  }
  return 0;
}
