// _mlcsc: the compiled half of the Python module `mlcsc` (python/mlcsc/__init__.py holds the
// scikit-learn signatures and the argument checks; docs/python.md).
//
// Layouts: scikit-learn's X (n_samples x n_features, C order) is, byte for byte, the
// n_features x n_samples column-major matrix of signals mlcsc codes, and a code array
// (n_samples x n_components, C order) is the n_components x n_samples column-major code. So the
// data is read in place through Eigen::Map, and the code is written by the solver into the
// array allocated here and handed to Python: no copy of either. Arrays arrive C-contiguous in
// the dtype of the function (float32 or float64); the Python side converts or refuses the rest
// (`noconvert` below makes a hidden conversion an error, not a silent copy). The GIL is released
// during every solve; `threads` (> 0) sets OpenMP's threads for the call.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>

#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <mlcsc/mlcsc.hpp>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace py = pybind11;
using mlcsc::Index;

namespace {

template <class S>
using CArray = py::array_t<S, py::array::c_style>;
template <class S>
using ConstMap = Eigen::Map<const mlcsc::Matrix<S>>;
template <class S>
using Map = Eigen::Map<mlcsc::Matrix<S>>;

// OpenMP threads for the duration of a call (restored after); 0 keeps the current setting.
class Threads {
 public:
  explicit Threads(int n) {
#ifdef _OPENMP
    old_ = omp_get_max_threads();
    if (n > 0) omp_set_num_threads(n);
#else
    (void)n;
#endif
  }
  ~Threads() {
#ifdef _OPENMP
    omp_set_num_threads(old_);
#endif
  }
  Threads(const Threads&) = delete;
  Threads& operator=(const Threads&) = delete;

 private:
  int old_ = 1;
};

// A 2-D C-ordered array rows x cols seen as the cols x rows column-major matrix, in place.
template <class S>
ConstMap<S> columns(const CArray<S>& a) {
  return ConstMap<S>(a.data(), Index(a.shape(1)), Index(a.shape(0)));
}

// The dictionary (n_components x n_features, C order) as mlcsc's n_features x n_components
// atoms: a Dictionary owns its atoms, so this is the one copy, of the (small) dictionary.
template <class S>
mlcsc::Dictionary<S> dictionary(const CArray<S>& d) {
  return mlcsc::Dictionary<S>(columns(d));
}

template <class S>
py::array_t<S> new_array(Index rows, Index cols) {
  return py::array_t<S>({py::ssize_t(rows), py::ssize_t(cols)});
}

// LassoParams from the Python arguments; `method` one of "cd", "fista", "ista", "admm" (each
// caller offers those its dictionaries take; mlcsc checks the rest).
template <class S>
mlcsc::LassoParams<S> lasso_params(const char* where, S lambda, bool positive, int max_iter, S tol,
                                   const std::string& method) {
  mlcsc::LassoParams<S> p;
  p.lambda = lambda;
  p.nonnegative = positive;
  p.max_iterations = max_iter;
  p.tolerance = tol;
  if (method == "cd")
    p.method = mlcsc::Method::CoordinateDescent;
  else if (method == "fista")
    p.method = mlcsc::Method::FISTA;
  else if (method == "ista")
    p.method = mlcsc::Method::ISTA;
  else if (method == "admm")
    p.method = mlcsc::Method::ADMM;
  else
    throw std::invalid_argument(std::string(where) + ": 'method' must be 'fista', 'ista', 'admm' " +
                                "or 'cd', got '" + method + "'");
  return p;
}

// The Lasso 0.5||x - D^T c||^2 + alpha ||c||_1 per sample (scikit-learn's lasso_cd / lasso_lars
// after its 1 / n_features scaling), by exact coordinate descent or FISTA, from zero or `init`.
template <class S>
py::array_t<S> encode_lasso(const CArray<S>& X, const CArray<S>& dict, S alpha, bool positive,
                            int max_iter, S tol, const std::string& method,
                            const std::optional<CArray<S>>& init, int threads) {
  const Index B = X.shape(0), m = dict.shape(0);
  const auto p = lasso_params<S>("sparse_encode", alpha, positive, max_iter, tol, method);
  auto code = new_array<S>(B, m);
  Map<S> G(code.mutable_data(), m, B);
  {
    py::gil_scoped_release unlocked;
    Threads t(threads);
    const auto D = dictionary(dict);
    mlcsc::LassoSolver<mlcsc::Dictionary<S>> solver(D, p);
    if (init) {
      G = columns(*init);
      solver.resume(columns(X), G);
    } else {
      solver.solve(columns(X), G);
    }
  }
  return code;
}

// scikit-learn's 'threshold': S_alpha(D^T x) (soft, or max(D^T x - alpha, 0) when positive),
// computed into the code array.
template <class S>
py::array_t<S> encode_threshold(const CArray<S>& X, const CArray<S>& dict, S alpha, bool positive,
                                int threads) {
  const Index B = X.shape(0), m = dict.shape(0);
  auto code = new_array<S>(B, m);
  Map<S> G(code.mutable_data(), m, B);
  {
    py::gil_scoped_release unlocked;
    Threads t(threads);
    const auto D = dictionary(dict);
    const auto Y = columns(X);
    D.check_signal(Y, "sparse_encode", "X");
    D.analyze(Y, G);
    mlcsc::internal::shrink_into(G.array(), G.array(), alpha,
                                 positive ? mlcsc::Shrinkage::NonnegSoft : mlcsc::Shrinkage::Soft);
  }
  return code;
}

// scikit-learn's 'omp': at most n_nonzero_coefs atoms per sample. OMP builds its code in its own
// buffer: one copy into the array handed over.
template <class S>
py::array_t<S> encode_omp(const CArray<S>& X, const CArray<S>& dict, int n_nonzero_coefs,
                          int threads) {
  const Index B = X.shape(0), m = dict.shape(0);
  auto code = new_array<S>(B, m);
  Map<S> G(code.mutable_data(), m, B);
  {
    py::gil_scoped_release unlocked;
    Threads t(threads);
    const auto D = dictionary(dict);
    mlcsc::OmpParams<S> p;
    p.max_atoms = n_nonzero_coefs;
    G = mlcsc::omp(D, columns(X), p).code;
  }
  return code;
}

// An m x k matrix as a new C-ordered k x m array (mlcsc's column-major atoms and statistics are
// scikit-learn's rows).
template <class S>
py::array_t<S> rows_of(const mlcsc::Matrix<S>& M) {
  auto a = new_array<S>(M.cols(), M.rows());
  Map<S>(a.mutable_data(), M.rows(), M.cols()) = M;
  return a;
}

// A Python callable step_callback(step, batch_objective) -> bool (None: continue) for the C++
// learner, which runs with the GIL released: the call takes the GIL, and an exception the
// callable raises stops learning and is re-raised once the learner has returned.
template <class S>
struct StepCallback {
  py::object fn;
  std::exception_ptr error;
  std::function<bool(Index, S)> function() {
    if (fn.is_none()) return {};
    return [this](Index step, S objective) {
      py::gil_scoped_acquire locked;
      try {
        const py::object r = fn(step, double(objective));
        return r.is_none() || r.cast<bool>();
      } catch (...) {
        error = std::current_exception();
        return false;
      }
    };
  }
};

// learn_dictionary (online, Mairal et al. 2010) on X's rows with scikit-learn's early stopping
// (tol, max_no_improvement; 0 = off) and step callback: returns (components n_components x
// n_features C order with unit rows, objective per epoch, steps, converged, A, B): A and B, the
// statistics (B as n_components x n_features), resume learning in online_step.
template <class S>
py::tuple learn_dictionary(const CArray<S>& X, Index n_components, S alpha, int epochs,
                           Index batch_size, unsigned seed, bool shuffle, bool positive,
                           const std::optional<CArray<S>>& dict_init, S tol, int max_no_improvement,
                           S forgetting, const py::object& step_callback, int threads) {
  mlcsc::DictLearnParams<S> p;
  p.num_atoms = n_components;
  p.lambda = alpha;
  p.epochs = epochs;
  p.batch_size = batch_size;
  p.seed = seed;
  p.shuffle = shuffle;
  p.nonnegative = positive;
  p.tolerance = tol;
  p.max_no_improvement = max_no_improvement;
  p.forgetting = forgetting;
  StepCallback<S> callback{step_callback, nullptr};
  p.step_callback = callback.function();
  if (dict_init) p.initial_dictionary = columns(*dict_init);
  std::optional<mlcsc::DictLearnResult<S>> r;
  {
    py::gil_scoped_release unlocked;
    Threads t(threads);
    r = mlcsc::learn_dictionary(columns(X), p);
  }
  if (callback.error) std::rethrow_exception(callback.error);
  return py::make_tuple(rows_of(r->dictionary.matrix()), r->objective, r->steps, r->converged,
                        rows_of(r->A), rows_of(r->B));
}

// One online step on the mini-batch X (scikit-learn's partial_fit): the components (n_components
// x n_features), A (n_components^2) and B (n_components x n_features) are updated in place;
// `steps` mini-batches came before. The statistics weigh X as a mini-batch of its own size, as
// scikit-learn's. Returns the mini-batch's Lasso objective with the components it was coded with.
template <class S>
double online_step(const CArray<S>& X, CArray<S>& components, CArray<S>& A, CArray<S>& B,
                   Index steps, S alpha, bool positive, S forgetting, int threads) {
  const Index m = components.shape(0), n = components.shape(1);
  mlcsc::DictLearnParams<S> p;
  p.num_atoms = m;
  p.lambda = alpha;
  p.nonnegative = positive;
  p.forgetting = forgetting;
  p.batch_size = X.shape(0);
  Map<S> D(components.mutable_data(), n, m), a(A.mutable_data(), A.shape(1), A.shape(0)),
      b(B.mutable_data(), B.shape(1), B.shape(0));
  S objective = 0;
  {
    py::gil_scoped_release unlocked;
    Threads t(threads);
    mlcsc::OnlineDictionaryLearner<S> learner(p, D, a, b, steps);
    objective = learner.partial_fit(columns(X));
    D = learner.atoms();
    a = learner.A();
    b = learner.B();
  }
  return double(objective);
}

// The initial atoms learn_dictionary would choose: n_components distinct rows of X drawn with
// `seed`, normalized (their positive parts when `positive`).
template <class S>
py::array_t<S> initial_atoms(const CArray<S>& X, Index n_components, unsigned seed, bool positive) {
  mlcsc::internal::require_finite(columns(X), "initial_atoms", "X");
  if (n_components < 1)
    throw std::invalid_argument("n_components must be >= 1, got " + std::to_string(n_components));
  mlcsc::internal::LearnRng rng(seed);
  return rows_of(mlcsc::internal::initial_atoms<S>(columns(X), n_components, positive, rng));
}

// The address of the buffer a C-contiguous array is read from, through the same binding path
// as the solvers (the tests check that the input is not copied).
template <class S>
std::uintptr_t buffer_address(const CArray<S>& a) {
  return reinterpret_cast<std::uintptr_t>(columns(a).data());
}

// --- convolutional --------------------------------------------------------------------------

template <class S>
using Maps = py::array_t<S, py::array::c_style>;

mlcsc::Boundary boundary_of(const std::string& b) {
  if (b == "circular") return mlcsc::Boundary::Circular;
  if (b == "zero") return mlcsc::Boundary::Zero;
  if (b == "valid") return mlcsc::Boundary::Valid;
  throw std::invalid_argument(
      "ConvDictionary: 'boundary' must be 'circular', 'zero' or 'valid', got '" + b + "'");
}

// A 4-D C-ordered array N x C x H x W as mlcsc's feature maps (the same layout), in place.
template <class S>
mlcsc::ConstFeatureMapsView<S> maps(const Maps<S>& a, const char* name) {
  if (a.ndim() != 4)
    throw std::invalid_argument(std::string("expected '") + name +
                                "' of 4 dimensions (N x C x H x W), got " +
                                std::to_string(a.ndim()));
  return {a.data(), Index(a.shape(0)), Index(a.shape(1)), Index(a.shape(2)), Index(a.shape(3))};
}

template <class S>
py::array_t<S> new_maps(Index n, Index c, Index h, Index w) {
  return py::array_t<S>({py::ssize_t(n), py::ssize_t(c), py::ssize_t(h), py::ssize_t(w)});
}

// The dictionary of PyTorch-layout weights K x C x kh x kw (copied: the dictionary owns them).
template <class S>
mlcsc::ConvDictionary<S> conv_dictionary(const Maps<S>& weights, const std::string& boundary,
                                         Index stride_h, Index stride_w, Index dilation_h,
                                         Index dilation_w) {
  if (weights.ndim() != 4)
    throw std::invalid_argument(
        "ConvDictionary: expected 'weights' of 4 dimensions (K x C x kh x kw), got " +
        std::to_string(weights.ndim()));
  const Index K = weights.shape(0), C = weights.shape(1), kh = weights.shape(2),
              kw = weights.shape(3);
  mlcsc::ConvDictionary<S> D(K, C, kh, kw, boundary_of(boundary));
  D.set_stride(stride_h, stride_w);
  D.set_dilation(dilation_h, dilation_w);
  D.filters() = Eigen::Map<const mlcsc::RowMatrix<S>>(weights.data(), K, C * kh * kw);
  mlcsc::internal::require_finite(D.filters(), "ConvDictionary", "weights");
  return D;
}

template <class S>
py::array_t<S> conv_analyze(const mlcsc::ConvDictionary<S>& D, const Maps<S>& x, int threads) {
  const auto xv = maps(x, "x");
  D.check_signal(xv, "ConvDictionary.analyze", "x");
  auto g = new_maps<S>(xv.batch(), D.num_filters(), D.code_height(xv.height()),
                       D.code_width(xv.width()));
  mlcsc::FeatureMapsView<S> gv(g.mutable_data(), g.shape(0), g.shape(1), g.shape(2), g.shape(3));
  {
    py::gil_scoped_release unlocked;
    Threads t(threads);
    D.analyze(xv, gv);
  }
  return g;
}

// x = D g for signals of `height` x `width` (0: the smallest whose code has g's size).
template <class S>
py::array_t<S> conv_synthesize(const mlcsc::ConvDictionary<S>& D, const Maps<S>& g, Index height,
                               Index width, int threads) {
  const auto gv = maps(g, "g");
  D.check_code(gv, "ConvDictionary.synthesize", "g");
  const auto like = D.signal_like(gv);
  auto x = new_maps<S>(gv.batch(), D.channels(), height > 0 ? height : like.height(),
                       width > 0 ? width : like.width());
  mlcsc::FeatureMapsView<S> xv(x.mutable_data(), x.shape(0), x.shape(1), x.shape(2), x.shape(3));
  {
    py::gil_scoped_release unlocked;
    Threads t(threads);
    D.synthesize(gv, xv);
  }
  return x;
}

// The convolutional Lasso 0.5||x - D g||^2 + lambda||g||_1 per image, by FISTA or ADMM (circular,
// stride 1), from zero: (code, {"iterations", "converged", "objective"}).
template <class S>
py::tuple conv_lasso(const mlcsc::ConvDictionary<S>& D, const Maps<S>& x, S lambda,
                     const std::string& method, int max_iter, S tol, bool positive, int threads) {
  const auto xv = maps(x, "x");
  const auto p = lasso_params<S>("lasso", lambda, positive, max_iter, tol, method);
  D.check_signal(xv, "lasso", "x");
  auto g = new_maps<S>(xv.batch(), D.num_filters(), D.code_height(xv.height()),
                       D.code_width(xv.width()));
  mlcsc::FeatureMapsView<S> gv(g.mutable_data(), g.shape(0), g.shape(1), g.shape(2), g.shape(3));
  mlcsc::PursuitStats<S> st;
  {
    py::gil_scoped_release unlocked;
    Threads t(threads);
    mlcsc::LassoSolver<mlcsc::ConvDictionary<S>> solver(D, p);
    st = solver.solve(xv, gv);
  }
  py::dict info;
  info["iterations"] = st.iterations;
  info["converged"] = st.converged;
  info["objective"] = double(st.objective);
  return py::make_tuple(g, info);
}

template <class S>
void bind_conv(py::module_& m, const char* name) {
  using namespace pybind11::literals;
  using D = mlcsc::ConvDictionary<S>;
  py::class_<D>(m, name)
      .def(py::init(&conv_dictionary<S>), "weights"_a.noconvert(), "boundary"_a, "stride_h"_a,
           "stride_w"_a, "dilation_h"_a, "dilation_w"_a)
      .def("analyze", &conv_analyze<S>, "x"_a.noconvert(), "threads"_a)
      .def("synthesize", &conv_synthesize<S>, "g"_a.noconvert(), "height"_a, "width"_a, "threads"_a)
      .def("lasso", &conv_lasso<S>, "x"_a.noconvert(), "lmbda"_a, "method"_a, "max_iter"_a, "tol"_a,
           "positive"_a, "threads"_a)
      .def("code_shape",
           [](const D& d, Index h, Index w) {
             return py::make_tuple(d.num_filters(), d.code_height(h), d.code_width(w));
           })
      .def_property_readonly("weights", [](const D& d) {
        auto w = new_maps<S>(d.num_filters(), d.channels(), d.kernel_height(), d.kernel_width());
        Eigen::Map<mlcsc::RowMatrix<S>>(w.mutable_data(), d.num_filters(), d.filters().cols()) =
            d.filters();
        return w;
      });
}

// --- multi-layer and convolutional learning ---------------------------------------------------

// Feature maps the C++ side computed, handed over to NumPy without a copy: the array views the
// maps' buffer and owns the maps through a capsule that frees them with the array.
template <class S>
py::array_t<S> to_array(mlcsc::FeatureMaps<S>&& f) {
  auto* owned = new mlcsc::FeatureMaps<S>(std::move(f));
  py::capsule base(owned, [](void* p) { delete static_cast<mlcsc::FeatureMaps<S>*>(p); });
  return py::array_t<S>({py::ssize_t(owned->batch()), py::ssize_t(owned->channels()),
                         py::ssize_t(owned->height()), py::ssize_t(owned->width())},
                        owned->data().data(), base);
}

mlcsc::Shrinkage shrinkage_of(const std::string& s) {
  if (s == "soft") return mlcsc::Shrinkage::Soft;
  if (s == "hard") return mlcsc::Shrinkage::Hard;
  if (s == "nonneg_soft") return mlcsc::Shrinkage::NonnegSoft;
  throw std::invalid_argument(
      "MultiLayer: 'shrinkage' must be 'soft', 'hard' or 'nonneg_soft', got '" + s + "'");
}

template <class S>
mlcsc::MultiLayer<mlcsc::ConvDictionary<S>> network(
    const std::vector<mlcsc::ConvDictionary<S>>& layers) {
  mlcsc::MultiLayer<mlcsc::ConvDictionary<S>> net;
  for (const auto& D : layers) net.add_layer(D);
  return net;
}

template <class S>
std::vector<mlcsc::LassoParams<S>> per_layer(const std::vector<S>& lambdas, bool nonnegative,
                                             const std::string& method, int max_iter, S tol) {
  std::vector<mlcsc::LassoParams<S>> p;
  for (const S lambda : lambdas)
    p.push_back(lasso_params<S>("MultiLayer", lambda, nonnegative, max_iter, tol, method));
  return p;
}

// Layered thresholding (the CNN forward pass): thresholds, one vector per layer (one entry per
// filter, or one for all).
template <class S>
py::list ml_thresholding(const std::vector<mlcsc::ConvDictionary<S>>& layers, const Maps<S>& x,
                         const std::vector<std::vector<S>>& thresholds,
                         const std::string& shrinkage, int threads) {
  const auto net = network(layers);
  std::vector<mlcsc::Vector<S>> thr;
  for (size_t l = 0; l < thresholds.size(); ++l) {
    const auto& t = thresholds[l];
    const Index K = l < layers.size() ? layers[l].num_filters() : 0;
    if (t.size() == 1)
      thr.push_back(mlcsc::Vector<S>::Constant(K, t[0]));
    else
      thr.push_back(Eigen::Map<const mlcsc::Vector<S>>(t.data(), Index(t.size())));
  }
  const auto kind = shrinkage_of(shrinkage);
  const auto xv = maps(x, "x");
  std::vector<mlcsc::FeatureMaps<S>> codes;
  {
    py::gil_scoped_release unlocked;
    Threads t(threads);
    codes = net.layered_thresholding(xv, thr, kind);
  }
  py::list out;
  for (auto& c : codes) out.append(to_array(std::move(c)));
  return out;
}

template <class S>
py::dict stats(const mlcsc::PursuitStats<S>& st) {
  py::dict info;
  info["iterations"] = st.iterations;
  info["converged"] = st.converged;
  info["objective"] = double(st.objective);
  return info;
}

// The layered Lasso: one (code, info) per layer.
template <class S>
py::list ml_layered_lasso(const std::vector<mlcsc::ConvDictionary<S>>& layers, const Maps<S>& x,
                          const std::vector<S>& lambdas, bool nonnegative,
                          const std::string& method, int max_iter, S tol, int threads) {
  const auto net = network(layers);
  const auto p = per_layer(lambdas, nonnegative, method, max_iter, tol);
  const auto xv = maps(x, "x");
  std::vector<mlcsc::PursuitResult<mlcsc::FeatureMaps<S>, S>> r;
  {
    py::gil_scoped_release unlocked;
    Threads t(threads);
    r = net.layered_lasso(xv, p);
  }
  py::list out;
  for (auto& e : r) out.append(py::make_tuple(to_array(std::move(e.code)), stats<S>(e)));
  return out;
}

// ML-FISTA (multi-layer basis pursuit): (codes Gamma_1..Gamma_L, info).
template <class S>
py::tuple ml_fista(const std::vector<mlcsc::ConvDictionary<S>>& layers, const Maps<S>& x,
                   const std::vector<S>& lambdas, bool nonnegative, int max_iter, S tol,
                   int threads) {
  const auto net = network(layers);
  mlcsc::MLBPParams<S> p;
  p.layers = per_layer(lambdas, nonnegative, "fista", max_iter, tol);
  p.max_iterations = max_iter;
  p.tolerance = tol;
  const auto xv = maps(x, "x");
  std::vector<mlcsc::PursuitResult<mlcsc::FeatureMaps<S>, S>> r;
  {
    py::gil_scoped_release unlocked;
    Threads t(threads);
    r = net.ml_fista(xv, p);
  }
  py::dict info = stats<S>(r.back());
  py::list codes;
  for (auto& e : r) codes.append(to_array(std::move(e.code)));
  return py::make_tuple(codes, info);
}

// learn_conv_dictionary on images (N, C, H, W), read in place: (weights, objective, code).
template <class S>
py::tuple learn_conv(const Maps<S>& images, Index num_filters, Index kh, Index kw, S lambda,
                     int iterations, unsigned seed, const std::string& method, Index batch_size,
                     bool zero_mean, int coding_iterations, int filter_iterations,
                     const std::optional<Maps<S>>& initial, int threads) {
  mlcsc::ConvDictLearnParams<S> p;
  p.num_filters = num_filters;
  p.kernel_height = kh;
  p.kernel_width = kw;
  p.lambda = lambda;
  p.iterations = iterations;
  p.seed = seed;
  if (method == "batch")
    p.method = mlcsc::ConvDictLearnMethod::Batch;
  else if (method == "online")
    p.method = mlcsc::ConvDictLearnMethod::Online;
  else
    throw std::invalid_argument(
        "learn_conv_dictionary: 'method' must be 'batch' or 'online', got '" + method + "'");
  p.batch_size = batch_size;
  p.zero_mean = zero_mean;
  p.coding_iterations = coding_iterations;
  if (filter_iterations > 0) p.filter_iterations = filter_iterations;
  if (initial) p.initial_filters = mlcsc::FeatureMaps<S>(maps(*initial, "initial_weights"));
  const auto xv = maps(images, "images");  // read in place
  std::optional<mlcsc::ConvDictLearnResult<S>> r;
  {
    py::gil_scoped_release unlocked;
    Threads t(threads);
    r = mlcsc::learn_conv_dictionary(xv, p);
  }
  const auto& D = r->dictionary;
  auto w = new_maps<S>(D.num_filters(), D.channels(), D.kernel_height(), D.kernel_width());
  Eigen::Map<mlcsc::RowMatrix<S>>(w.mutable_data(), D.num_filters(), D.filters().cols()) =
      D.filters();
  return py::make_tuple(w, r->objective, to_array(std::move(r->code)));
}

template <class S>
void bind(py::module_& m) {
  using namespace pybind11::literals;
  m.def("encode_lasso", &encode_lasso<S>, "X"_a.noconvert(), "dictionary"_a.noconvert(), "alpha"_a,
        "positive"_a, "max_iter"_a, "tol"_a, "method"_a, "init"_a.noconvert(), "threads"_a);
  m.def("encode_threshold", &encode_threshold<S>, "X"_a.noconvert(), "dictionary"_a.noconvert(),
        "alpha"_a, "positive"_a, "threads"_a);
  m.def("encode_omp", &encode_omp<S>, "X"_a.noconvert(), "dictionary"_a.noconvert(),
        "n_nonzero_coefs"_a, "threads"_a);
  m.def("learn_dictionary", &learn_dictionary<S>, "X"_a.noconvert(), "n_components"_a, "alpha"_a,
        "epochs"_a, "batch_size"_a, "seed"_a, "shuffle"_a, "positive"_a, "dict_init"_a.noconvert(),
        "tol"_a, "max_no_improvement"_a, "forgetting"_a, "step_callback"_a, "threads"_a);
  m.def("online_step", &online_step<S>, "X"_a.noconvert(), "components"_a.noconvert(),
        "A"_a.noconvert(), "B"_a.noconvert(), "steps"_a, "alpha"_a, "positive"_a, "forgetting"_a,
        "threads"_a);
  m.def("initial_atoms", &initial_atoms<S>, "X"_a.noconvert(), "n_components"_a, "seed"_a,
        "positive"_a);
  m.def("buffer_address", &buffer_address<S>, "a"_a.noconvert());
  m.def("ml_thresholding", &ml_thresholding<S>, "layers"_a, "x"_a.noconvert(), "thresholds"_a,
        "shrinkage"_a, "threads"_a);
  m.def("ml_layered_lasso", &ml_layered_lasso<S>, "layers"_a, "x"_a.noconvert(), "lambdas"_a,
        "nonnegative"_a, "method"_a, "max_iter"_a, "tol"_a, "threads"_a);
  m.def("ml_fista", &ml_fista<S>, "layers"_a, "x"_a.noconvert(), "lambdas"_a, "nonnegative"_a,
        "max_iter"_a, "tol"_a, "threads"_a);
  m.def("learn_conv_dictionary", &learn_conv<S>, "images"_a.noconvert(), "num_filters"_a,
        "kernel_height"_a, "kernel_width"_a, "lmbda"_a, "iterations"_a, "seed"_a, "method"_a,
        "batch_size"_a, "zero_mean"_a, "coding_iterations"_a, "filter_iterations"_a,
        "initial_weights"_a.noconvert(), "threads"_a);
}

}  // namespace

PYBIND11_MODULE(_mlcsc, m) {
  m.doc() = "mlcsc's compiled solvers; use the package mlcsc (python/mlcsc/__init__.py)";
  // float64 first: an overload is chosen by dtype (noconvert), so each array meets its own
  bind<double>(m);
  bind<float>(m);
  bind_conv<double>(m, "ConvDictionary64");
  bind_conv<float>(m, "ConvDictionary32");
#ifdef _OPENMP
  m.attr("openmp") = true;
#else
  m.attr("openmp") = false;
#endif
}
