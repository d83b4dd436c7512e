#pragma once
// A small hand-written SVG line chart: coloured polylines with markers, hollow markers for
// extra points, dashed horizontal and dotted vertical reference lines, axes with ticks, and a
// legend. The file is self-contained (no scripts, no external fonts or styles: the generic
// sans-serif family), and numbers are printed with fixed precision, so the same chart gives the
// same bytes on every run.

#include <optional>
#include <string>
#include <vector>

namespace aladdin::sim {

struct chart_point {
  double x = 0;
  double y = 0;
};

enum class marker_shape { circle, square, triangle, diamond };

// Points drawn as hollow markers of one shape in the series' colour (no line).
struct marker_group {
  marker_shape shape = marker_shape::circle;
  std::vector<chart_point> points;
};

struct chart_series {
  std::string name;
  std::string color;                // any CSS colour, e.g. "#0072b2"
  std::vector<chart_point> line;    // joined in the order given, one filled marker each
  marker_shape line_marker = marker_shape::circle;
  bool dashed = false;              // the polyline (e.g. a baseline that may hide under another)
  std::vector<marker_group> others;
};

struct reference_line {
  double value = 0;
  std::string label;
};

struct legend_marker {
  marker_shape shape = marker_shape::circle;
  std::string label;
  bool hollow = false;
};

struct line_chart {
  std::string title;
  std::string x_label, y_label;
  std::vector<chart_series> series;
  std::optional<reference_line> target_y;      // dashed, across the plot
  std::vector<reference_line> marks_x;         // dotted, top to bottom
  // Explains the marker shapes (drawn in grey after the series in the legend).
  std::vector<legend_marker> marker_legend;
  bool log_x = false;                          // base-2 ticks; every x must be > 0
  int width = 900, height = 560;
};

// The whole document, starting with <svg. Empty series, an empty chart and a single point are
// all drawn (axes around a sensible default range).
std::string render_svg(const line_chart& chart);

}  // namespace aladdin::sim
