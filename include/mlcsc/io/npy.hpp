// mlcsc: NumPy .npy files (format versions 1.0, 2.0 and 3.0, as numpy.lib.format defines them).
//   load_npy<Scalar>(path): float32/float64 (integers and bools converted), either byte order,
//     C or Fortran order; a 1-D array of n values is n x 1, a 0-D array 1 x 1.
//   save_npy(path, m): '<f4' / '<f8' (integers as '<i4' / '<i8'), shape (rows, cols), in the
//     matrix's own storage order; written to a temporary file and renamed, so a failed write
//     never leaves a partial file at `path`.
//   Arrays of any rank are read and written by detail::read_array / write_array; npy_maps.hpp
//   uses them for feature maps (N, C, H, W) and filter banks (K, C, kh, kw).
// Problems with a file throw std::runtime_error naming the path and the problem.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include <Eigen/Core>

namespace mlcsc::io {

namespace detail {

[[noreturn]] inline void fail(const std::string& path, const std::string& what) {
  throw std::runtime_error("npy '" + path + "': " + what);
}

inline bool host_little_endian() {
  const std::uint16_t one = 1;
  unsigned char b;
  std::memcpy(&b, &one, 1);
  return b == 1;
}

// The value of `key` in the header dictionary, e.g. 'descr': '<f8' -> "'<f8'".
inline std::string dict_value(const std::string& header, const std::string& key,
                              const std::string& path) {
  const std::string k = "'" + key + "'";
  const auto at = header.find(k);
  if (at == std::string::npos) fail(path, "header has no " + k + " entry");
  auto p = header.find(':', at + k.size());
  if (p == std::string::npos) fail(path, "malformed header entry " + k);
  ++p;
  while (p < header.size() && header[p] == ' ') ++p;
  std::size_t end = p;
  if (p < header.size() && header[p] == '(') {
    end = header.find(')', p);
    if (end == std::string::npos) fail(path, "malformed shape in header");
    return header.substr(p, end - p + 1);
  }
  if (p < header.size() && header[p] == '\'') {
    end = header.find('\'', p + 1);
    if (end == std::string::npos) fail(path, "malformed " + k + " in header");
    return header.substr(p, end - p + 1);
  }
  while (end < header.size() && header[end] != ',' && header[end] != '}') ++end;
  return header.substr(p, end - p);
}

struct Header {
  char endian = '<';
  char kind = 'f';  // f, i, u, b
  int bytes = 8;
  bool fortran = false;
  std::vector<std::int64_t> shape;
};

inline Header parse_header(const std::string& h, const std::string& path) {
  Header out;
  std::string descr = dict_value(h, "descr", path);
  if (descr.size() < 5 || descr.front() != '\'' || descr.back() != '\'')
    fail(path, "malformed 'descr' " + descr);
  descr = descr.substr(1, descr.size() - 2);
  out.endian = descr[0];
  out.kind = descr[1];
  try {
    out.bytes = std::stoi(descr.substr(2));
  } catch (...) {
    fail(path, "malformed 'descr' '" + descr + "'");
  }
  const bool ok_kind = (out.kind == 'f' && (out.bytes == 4 || out.bytes == 8)) ||
                       ((out.kind == 'i' || out.kind == 'u') &&
                        (out.bytes == 1 || out.bytes == 2 || out.bytes == 4 || out.bytes == 8)) ||
                       (out.kind == 'b' && out.bytes == 1);
  if (!ok_kind ||
      (out.endian != '<' && out.endian != '>' && out.endian != '|' && out.endian != '='))
    fail(path, "unsupported dtype '" + descr + "' (float32/float64 and integers are supported)");
  const std::string fo = dict_value(h, "fortran_order", path);
  if (fo.rfind("True", 0) == 0)
    out.fortran = true;
  else if (fo.rfind("False", 0) == 0)
    out.fortran = false;
  else
    fail(path, "malformed 'fortran_order' " + fo);
  const std::string shape = dict_value(h, "shape", path);
  std::size_t i = 1;
  while (i < shape.size()) {
    while (i < shape.size() && (shape[i] == ' ' || shape[i] == ',')) ++i;
    if (i >= shape.size() || shape[i] == ')') break;
    std::size_t j = i;
    while (j < shape.size() && shape[j] >= '0' && shape[j] <= '9') ++j;
    if (j == i) fail(path, "malformed shape " + shape);
    out.shape.push_back(std::stoll(shape.substr(i, j - i)));
    i = j;
  }
  return out;
}

template <class T>
T read_value(const unsigned char* p, bool swap) {
  unsigned char b[sizeof(T)];
  std::memcpy(b, p, sizeof(T));
  if (swap)
    for (std::size_t i = 0; i < sizeof(T) / 2; ++i) std::swap(b[i], b[sizeof(T) - 1 - i]);
  T v;
  std::memcpy(&v, b, sizeof(T));
  return v;
}

inline double read_as_double(const unsigned char* p, const Header& h, bool swap) {
  switch (h.kind) {
    case 'f':
      return h.bytes == 4 ? double(read_value<float>(p, swap)) : read_value<double>(p, swap);
    case 'b':
      return *p ? 1.0 : 0.0;
    case 'i':
      switch (h.bytes) {
        case 1:
          return double(read_value<std::int8_t>(p, swap));
        case 2:
          return double(read_value<std::int16_t>(p, swap));
        case 4:
          return double(read_value<std::int32_t>(p, swap));
        default:
          return double(read_value<std::int64_t>(p, swap));
      }
    default:
      switch (h.bytes) {
        case 1:
          return double(read_value<std::uint8_t>(p, swap));
        case 2:
          return double(read_value<std::uint16_t>(p, swap));
        case 4:
          return double(read_value<std::uint32_t>(p, swap));
        default:
          return double(read_value<std::uint64_t>(p, swap));
      }
  }
}

/// An array of any rank read from a file: its shape and its values in C (row-major) order.
template <class Scalar>
struct Array {
  std::vector<std::int64_t> shape;
  std::vector<Scalar> values;
};

inline std::string shape_string(const std::vector<std::int64_t>& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i)
    s += std::to_string(shape[i]) + (shape.size() == 1 ? "," : i + 1 < shape.size() ? ", " : "");
  return s + ")";
}

/// Reads a .npy file of any rank; values converted to Scalar, in C order.
template <class Scalar>
Array<Scalar> read_array(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail(path, "cannot open the file for reading");
  char magic[8];
  if (!f.read(magic, 8)) fail(path, "truncated: shorter than the 8-byte preamble");
  if (std::memcmp(magic, "\x93NUMPY", 6) != 0) fail(path, "not a .npy file (bad magic)");
  const int major = static_cast<unsigned char>(magic[6]);
  std::uint32_t hlen = 0;
  if (major == 1) {
    unsigned char b[2];
    if (!f.read(reinterpret_cast<char*>(b), 2)) fail(path, "truncated header length");
    hlen = std::uint32_t(b[0]) | (std::uint32_t(b[1]) << 8);
  } else if (major == 2 || major == 3) {
    unsigned char b[4];
    if (!f.read(reinterpret_cast<char*>(b), 4)) fail(path, "truncated header length");
    hlen = std::uint32_t(b[0]) | (std::uint32_t(b[1]) << 8) | (std::uint32_t(b[2]) << 16) |
           (std::uint32_t(b[3]) << 24);
  } else {
    fail(path, "unsupported format version " + std::to_string(major));
  }
  if (hlen > (1u << 24)) fail(path, "implausible header length " + std::to_string(hlen));
  std::string header(hlen, '\0');
  if (!f.read(header.data(), hlen)) fail(path, "truncated header");
  if (header.find('{') == std::string::npos || header.find('}') == std::string::npos)
    fail(path, "malformed header (no dictionary)");
  const Header h = parse_header(header, path);

  std::uint64_t count = 1;
  for (std::int64_t d : h.shape) count *= std::uint64_t(d);
  std::vector<unsigned char> bytes(count * std::uint64_t(h.bytes));
  if (!bytes.empty() &&
      !f.read(reinterpret_cast<char*>(bytes.data()), std::streamsize(bytes.size())))
    fail(path, "truncated data: expected " + std::to_string(bytes.size()) + " bytes for shape " +
                   shape_string(h.shape));
  const bool little = host_little_endian();
  const bool swap = h.bytes > 1 && ((h.endian == '<' && !little) || (h.endian == '>' && little));
  Array<Scalar> a;
  a.shape = h.shape;
  a.values.resize(count);
  const std::size_t r = h.shape.size();
  // C-order strides of the result; a Fortran-order file lists index 0 fastest
  std::vector<std::uint64_t> cstride(r, 1);
  for (std::size_t d = r; d-- > 1;) cstride[d - 1] = cstride[d] * std::uint64_t(h.shape[d]);
  std::vector<std::int64_t> idx(r, 0);
  for (std::uint64_t k = 0; k < count; ++k) {
    std::uint64_t at = k;
    if (h.fortran) {
      at = 0;
      for (std::size_t d = 0; d < r; ++d) at += std::uint64_t(idx[d]) * cstride[d];
      for (std::size_t d = 0; d < r && ++idx[d] == h.shape[d]; ++d) idx[d] = 0;
    }
    a.values[at] = Scalar(read_as_double(bytes.data() + k * std::uint64_t(h.bytes), h, swap));
  }
  return a;
}

template <class Scalar>
std::string descr_of() {
  static_assert(std::is_arithmetic_v<Scalar>, "save_npy: real scalar types only");
  std::string descr;
  if constexpr (std::is_floating_point_v<Scalar>) {
    static_assert(sizeof(Scalar) == 4 || sizeof(Scalar) == 8, "save_npy: float or double");
    descr = sizeof(Scalar) == 4 ? "<f4" : "<f8";
  } else {
    descr = std::string(std::is_signed_v<Scalar> ? "<i" : "<u") + std::to_string(sizeof(Scalar));
  }
  if (!host_little_endian()) descr[0] = '>';
  return descr;
}

/// Writes `count` values of type Scalar at `data` as an array of `shape` (C order unless
/// `fortran`); atomically (a temporary file, then renamed).
template <class Scalar>
void write_array(const std::string& path, const std::vector<std::int64_t>& shape, bool fortran,
                 const Scalar* data, std::size_t count) {
  std::string header = "{'descr': '" + descr_of<Scalar>() +
                       "', 'fortran_order': " + (fortran ? "True" : "False") +
                       ", 'shape': " + shape_string(shape) + ", }";
  const std::size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  const std::string tmp = path + ".tmp-mlcsc";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) fail(path, "cannot open '" + tmp + "' for writing");
    const unsigned char pre[10] = {0x93,
                                   'N',
                                   'U',
                                   'M',
                                   'P',
                                   'Y',
                                   1,
                                   0,
                                   static_cast<unsigned char>(header.size() & 0xff),
                                   static_cast<unsigned char>(header.size() >> 8)};
    f.write(reinterpret_cast<const char*>(pre), 10);
    f.write(header.data(), std::streamsize(header.size()));
    f.write(reinterpret_cast<const char*>(data), std::streamsize(count * sizeof(Scalar)));
    f.flush();
    if (!f) {
      f.close();
      std::remove(tmp.c_str());
      fail(path, "write failed");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    fail(path, "cannot move the written file into place");
  }
}

}  // namespace detail

/// \brief Reads a NumPy .npy file into a matrix (rows x cols; a 1-D array is n x 1, a 0-D
/// array 1 x 1). Arrays of higher rank throw std::runtime_error (io/npy_maps.hpp reads them as
/// feature maps or filters).
/// \code
///   Eigen::MatrixXd D = mlcsc::io::load_npy<double>("dictionary.npy");
/// \endcode
template <class Scalar>
Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> load_npy(const std::string& path) {
  detail::Array<Scalar> a = detail::read_array<Scalar>(path);
  if (a.shape.size() > 2)
    detail::fail(path, "a " + std::to_string(a.shape.size()) + "-D array " +
                           detail::shape_string(a.shape) + " cannot be read as a matrix");
  const std::int64_t rows = a.shape.empty() ? 1 : a.shape[0];
  const std::int64_t cols = a.shape.size() == 2 ? a.shape[1] : 1;
  return Eigen::Map<const Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
      a.values.data(), rows, cols);
}

/// \brief Writes `m` as a NumPy .npy file of shape (rows, cols), in the matrix's own storage
/// order; atomically (temp + rename).
template <class Derived>
void save_npy(const std::string& path, const Eigen::MatrixBase<Derived>& m) {
  using Scalar = typename Derived::Scalar;
  const typename Derived::PlainObject a = m;  // evaluate expressions
  constexpr bool fortran = !Derived::PlainObject::IsRowMajor;
  detail::write_array<Scalar>(path, {std::int64_t(a.rows()), std::int64_t(a.cols())}, fortran,
                              a.data(), std::size_t(a.size()));
}

}  // namespace mlcsc::io
