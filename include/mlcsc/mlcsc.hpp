// mlcsc: sparse coding, convolutional sparse coding and multi-layer convolutional sparse coding
// over Eigen. One include for everything:  #include <mlcsc/mlcsc.hpp>
#pragma once

// core: shared aliases, input checks, shrinkage, boundaries, the operator concept
#include "core/boundary.hpp"
#include "core/errors.hpp"
#include "core/feature_maps.hpp"
#include "core/fwd.hpp"
#include "core/operator.hpp"
#include "core/shrinkage.hpp"

// dense dictionaries
#include "dense/dictionary.hpp"

// convolutional dictionaries
#include "conv/conv_dictionary.hpp"

// the frequency domain: 2-D real FFTs, filter spectra, circular convolutions by FFT
#include "fft/filter_spectra.hpp"
#include "fft/frequency_conv.hpp"
#include "fft/real_fft2.hpp"

// pursuits, generic over the operator concept (Method::ADMM: pursuit/conv_admm.hpp)
#include "pursuit/basis_pursuit.hpp"
#include "pursuit/lasso.hpp"
#include "pursuit/omp.hpp"
#include "pursuit/params.hpp"
#include "pursuit/thresholding.hpp"

// files
#include "io/npy.hpp"
#include "io/npy_maps.hpp"

// learning dictionaries: dense (online, MOD, K-SVD) and convolutional
#include "learn/conv_dictionary_learning.hpp"
#include "learn/learn_dictionary.hpp"
#include "learn/multilayer_learning.hpp"
#include "learn/params.hpp"

// multi-layer (convolutional) sparse coding
#include "multilayer/effective_dictionary.hpp"
#include "multilayer/multi_layer.hpp"

// theory
#include "theory/bounds.hpp"
#include "theory/coherence.hpp"
#include "theory/conv_coherence.hpp"
#include "theory/multilayer_bounds.hpp"
#include "theory/stripe.hpp"

// seeded synthetic ML-CSC signals and models (for experiments and tests)
#include "synthetic/ml_csc.hpp"
