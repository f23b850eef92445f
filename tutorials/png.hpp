#pragma once
// Writing pictures for the tutorials through libpng: an RGB image, a
// colour map for scalar fields, and a grid of grey-scale tiles. Files are
// written to a temporary name and renamed, so a reader never sees half a PNG.
#include <png.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include <xgrad/xgrad.hpp>

namespace tutorial {

struct Image {
  int width = 0, height = 0;
  std::vector<std::uint8_t> rgb;  ///< row-major, 3 bytes a pixel
  Image(int w, int h) : width(w), height(h), rgb(static_cast<std::size_t>(w) * h * 3, 255) {}
  std::uint8_t* at(int x, int y) { return &rgb[(static_cast<std::size_t>(y) * width + x) * 3]; }
};

inline void write_png(const std::string& path, const Image& image) {
  const std::string temporary = path + ".partial";
  FILE* file = std::fopen(temporary.c_str(), "wb");
  if (!file) throw std::runtime_error("write_png: cannot open '" + temporary + "' for writing");
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (!png || !info || setjmp(png_jmpbuf(png))) {  // libpng reports errors by longjmp
    png_destroy_write_struct(&png, &info);
    std::fclose(file);
    std::remove(temporary.c_str());
    throw std::runtime_error("write_png: libpng failed writing '" + path + "'");
  }
  png_init_io(png, file);
  png_set_IHDR(png, info, static_cast<png_uint_32>(image.width), static_cast<png_uint_32>(image.height), 8,
               PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (int y = 0; y < image.height; ++y)
    png_write_row(png, const_cast<png_bytep>(&image.rgb[static_cast<std::size_t>(y) * image.width * 3]));
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  const bool closed = std::fclose(file) == 0;
  if (!closed || std::rename(temporary.c_str(), path.c_str()) != 0) {
    std::remove(temporary.c_str());
    throw std::runtime_error("write_png: cannot finish '" + path + "'");
  }
}

/// A perceptually ordered dark-blue → teal → yellow ramp for t in [0, 1].
inline void colour(double t, std::uint8_t* rgb) {
  t = std::clamp(std::isfinite(t) ? t : 0.0, 0.0, 1.0);
  const double stops[4][3] = {{68, 1, 84}, {49, 104, 142}, {53, 183, 121}, {253, 231, 37}};
  const double s = t * 3;
  const int i = std::min(2, static_cast<int>(s));
  const double f = s - i;
  for (int c = 0; c < 3; ++c) rgb[c] = static_cast<std::uint8_t>(std::lround(stops[i][c] + f * (stops[i + 1][c] - stops[i][c])));
}

/// A [rows, cols] field as an image, each value a `scale`×`scale` block, coloured from min to max.
inline Image field_image(const xg::Tensor& field, int scale) {
  const auto v = field.to_vector<double>();
  const int rows = static_cast<int>(field.size(0)), cols = static_cast<int>(field.size(1));
  const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  const double range = *hi > *lo ? *hi - *lo : 1.0;
  Image image(cols * scale, rows * scale);
  for (int y = 0; y < image.height; ++y)
    for (int x = 0; x < image.width; ++x)
      colour((v[static_cast<std::size_t>(y / scale) * cols + x / scale] - *lo) / range, image.at(x, image.height - 1 - y));
  return image;
}

/// Images [n, h, w] with values in [0, 1] as a grid `columns` wide, 2 pixels
/// apart, each pixel drawn as a `scale`×`scale` block.
inline Image tile_grid(const xg::Tensor& images, int columns, int scale = 2) {
  const auto v = images.to_vector<double>();
  const int n = static_cast<int>(images.size(0)), h = static_cast<int>(images.size(1)), w = static_cast<int>(images.size(2));
  const int rows = (n + columns - 1) / columns, gap = 2, tw = w * scale, th = h * scale;
  Image image(columns * (tw + gap) + gap, rows * (th + gap) + gap);
  for (int k = 0; k < n; ++k)
    for (int y = 0; y < th; ++y)
      for (int x = 0; x < tw; ++x) {
        const double t = std::clamp(v[(static_cast<std::size_t>(k) * h + y / scale) * w + x / scale], 0.0, 1.0);
        std::uint8_t* p = image.at(gap + (k % columns) * (tw + gap) + x, gap + (k / columns) * (th + gap) + y);
        p[0] = p[1] = p[2] = static_cast<std::uint8_t>(std::lround(255 * t));
      }
  return image;
}

}  // namespace tutorial
