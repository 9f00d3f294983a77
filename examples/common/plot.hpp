// Examples' tiny line-plot rasterizer: panels of (x, y) series drawn into an RGB image and saved
// as PNG with stb_image_write (through image_io.hpp, which holds the stb implementation: include
// these helpers from one translation unit only). No text rendering: legends are coloured swatches,
// and each example prints what the panels and colours are.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "image_io.hpp"  // stb_image_write (with its implementation, once per program)

namespace examples {

struct Series {
  std::vector<double> x, y;
  std::array<unsigned char, 3> color{0, 0, 0};
  bool dashed = false;
};

struct Panel {
  std::vector<Series> series;
  double ymin = std::numeric_limits<double>::quiet_NaN(),
         ymax = std::numeric_limits<double>::quiet_NaN();
  bool log_y = false;
};

class Canvas {
 public:
  Canvas(int width, int height) : w_(width), h_(height), px_(size_t(width * height * 3), 255) {}

  void set(int x, int y, std::array<unsigned char, 3> c) {
    if (x < 0 || y < 0 || x >= w_ || y >= h_) return;
    unsigned char* p = &px_[size_t((y * w_ + x) * 3)];
    p[0] = c[0];
    p[1] = c[1];
    p[2] = c[2];
  }
  // Bresenham, thickness 2; dashed lines skip every other 6-pixel run
  void line(int x0, int y0, int x1, int y1, std::array<unsigned char, 3> c, bool dashed = false) {
    int dx = std::abs(x1 - x0), dy = -std::abs(y1 - y0), sx = x0 < x1 ? 1 : -1,
        sy = y0 < y1 ? 1 : -1;
    int err = dx + dy, n = 0;
    for (;;) {
      if (!dashed || (n / 6) % 2 == 0) {
        set(x0, y0, c);
        set(x0 + 1, y0, c);
        set(x0, y0 + 1, c);
      }
      ++n;
      if (x0 == x1 && y0 == y1) break;
      const int e2 = 2 * err;
      if (e2 >= dy) {
        err += dy;
        x0 += sx;
      }
      if (e2 <= dx) {
        err += dx;
        y0 += sy;
      }
    }
  }
  void rect(int x0, int y0, int x1, int y1, std::array<unsigned char, 3> c, bool fill = false) {
    for (int y = y0; y <= y1; ++y)
      for (int x = x0; x <= x1; ++x)
        if (fill || y == y0 || y == y1 || x == x0 || x == x1) set(x, y, c);
  }

  /// Draws `p` into the box (x0, y0)-(x1, y1): frame, 5 horizontal grid lines, the series with a
  /// square marker at each point, a swatch legend in the top-left corner.
  void panel(const Panel& p, int x0, int y0, int x1, int y1) {
    double xmin = 1e300, xmax = -1e300, ymin = 1e300, ymax = -1e300;
    auto ty = [&](double v) { return p.log_y ? std::log10(std::max(v, 1e-12)) : v; };
    for (const auto& s : p.series)
      for (size_t i = 0; i < s.x.size(); ++i) {
        xmin = std::min(xmin, s.x[i]);
        xmax = std::max(xmax, s.x[i]);
        ymin = std::min(ymin, ty(s.y[i]));
        ymax = std::max(ymax, ty(s.y[i]));
      }
    if (!std::isnan(p.ymin)) ymin = ty(p.ymin);
    if (!std::isnan(p.ymax)) ymax = ty(p.ymax);
    if (xmax <= xmin) xmax = xmin + 1;
    if (ymax <= ymin) ymax = ymin + 1;
    const int m = 12;
    const std::array<unsigned char, 3> grid{225, 225, 225}, black{0, 0, 0};
    for (int k = 0; k <= 4; ++k) {
      const int y = y1 - m - (y1 - y0 - 2 * m) * k / 4;
      line(x0 + m, y, x1 - m, y, grid);
    }
    rect(x0 + m, y0 + m, x1 - m, y1 - m, black);
    auto X = [&](double v) { return int(x0 + m + (x1 - x0 - 2 * m) * (v - xmin) / (xmax - xmin)); };
    auto Y = [&](double v) {
      return int(y1 - m - (y1 - y0 - 2 * m) * (ty(v) - ymin) / (ymax - ymin));
    };
    int legend = 0;
    for (const auto& s : p.series) {
      for (size_t i = 0; i + 1 < s.x.size(); ++i)
        line(X(s.x[i]), Y(s.y[i]), X(s.x[i + 1]), Y(s.y[i + 1]), s.color, s.dashed);
      for (size_t i = 0; i < s.x.size(); ++i)
        rect(X(s.x[i]) - 2, Y(s.y[i]) - 2, X(s.x[i]) + 2, Y(s.y[i]) + 2, s.color, true);
      rect(x0 + m + 6, y0 + m + 6 + 12 * legend, x0 + m + 22, y0 + m + 14 + 12 * legend, s.color,
           true);
      ++legend;
    }
  }

  bool save(const std::string& path) const {
    return stbi_write_png(path.c_str(), w_, h_, 3, px_.data(), w_ * 3) != 0;
  }

 private:
  int w_, h_;
  std::vector<unsigned char> px_;
};

/// Saves panels in a grid of `cols` columns, each panel pw x ph pixels.
inline bool save_panels(const std::string& path, const std::vector<Panel>& panels, int cols,
                        int pw = 360, int ph = 260) {
  const int rows = int((panels.size() + size_t(cols) - 1) / size_t(cols));
  Canvas c(cols * pw, rows * ph);
  for (size_t i = 0; i < panels.size(); ++i) {
    const int r = int(i) / cols, q = int(i) % cols;
    c.panel(panels[i], q * pw, r * ph, (q + 1) * pw - 1, (r + 1) * ph - 1);
  }
  return c.save(path);
}

}  // namespace examples
