#include "sim/svg_chart.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace aladdin::sim {

namespace {

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

std::string escape(const std::string& s) {
  std::string out;
  for (const char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

// Tick label: integers without decimals, the rest with as few as the step needs.
std::string tick_label(double v, double step) {
  char buf[32];
  if (std::abs(v - std::round(v)) < 1e-9 && step >= 1)
    std::snprintf(buf, sizeof buf, "%.0f", v);
  else if (step >= 0.1 - 1e-12)
    std::snprintf(buf, sizeof buf, "%.1f", v);
  else if (step >= 0.01 - 1e-12)
    std::snprintf(buf, sizeof buf, "%.2f", v);
  else
    std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

// A step of 1, 2 or 5 × 10^k giving about `ticks` intervals over span.
double nice_step(double span, int ticks) {
  const double raw = span / ticks;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  for (const double m : {1.0, 2.0, 5.0, 10.0})
    if (raw <= m * magnitude * (1 + 1e-9)) return m * magnitude;
  return 10 * magnitude;
}

std::string marker(marker_shape shape, double x, double y, const std::string& color, bool hollow) {
  const std::string fill = hollow ? "white" : color;
  const std::string style = "fill=\"" + fill + "\" stroke=\"" + color + "\" stroke-width=\"1.5\"";
  const double r = 4.5;
  switch (shape) {
    case marker_shape::circle:
      return "<circle cx=\"" + num(x) + "\" cy=\"" + num(y) + "\" r=\"" + num(r) + "\" " + style + "/>";
    case marker_shape::square:
      return "<rect x=\"" + num(x - r) + "\" y=\"" + num(y - r) + "\" width=\"" + num(2 * r) +
             "\" height=\"" + num(2 * r) + "\" " + style + "/>";
    case marker_shape::triangle:
      return "<polygon points=\"" + num(x) + "," + num(y - r * 1.2) + " " + num(x - r * 1.1) + "," +
             num(y + r * 0.8) + " " + num(x + r * 1.1) + "," + num(y + r * 0.8) + "\" " + style + "/>";
    case marker_shape::diamond:
      return "<polygon points=\"" + num(x) + "," + num(y - r * 1.3) + " " + num(x + r * 1.1) + "," +
             num(y) + " " + num(x) + "," + num(y + r * 1.3) + " " + num(x - r * 1.1) + "," + num(y) +
             "\" " + style + "/>";
  }
  return {};
}

}  // namespace

std::string render_svg(const line_chart& chart) {
  const double width = chart.width, height = chart.height;
  const double left = 70, right = 190, top = 44, bottom = 58;  // the legend sits on the right
  const double plot_w = width - left - right, plot_h = height - top - bottom;

  // Data range, from every point and reference line.
  double x_min = std::numeric_limits<double>::infinity(), x_max = -x_min;
  double y_min = x_min, y_max = -x_min;
  auto see = [&](const chart_point& p) {
    if (chart.log_x && !(p.x > 0)) return;
    x_min = std::min(x_min, p.x);
    x_max = std::max(x_max, p.x);
    y_min = std::min(y_min, p.y);
    y_max = std::max(y_max, p.y);
  };
  for (const auto& s : chart.series) {
    for (const auto& p : s.line) see(p);
    for (const auto& g : s.others)
      for (const auto& p : g.points) see(p);
  }
  for (const auto& m : chart.marks_x)
    if (!chart.log_x || m.value > 0) {
      x_min = std::min(x_min, m.value);
      x_max = std::max(x_max, m.value);
    }
  if (chart.target_y) {
    y_min = std::min(y_min, chart.target_y->value);
    y_max = std::max(y_max, chart.target_y->value);
  }
  if (!std::isfinite(x_min)) x_min = chart.log_x ? 1 : 0, x_max = chart.log_x ? 16 : 10;
  if (!std::isfinite(y_min)) y_min = 0, y_max = 1;

  // x axis: base-2 decades on a log scale, 1-2-5 steps on a linear one.
  std::vector<double> x_ticks;
  double x_lo, x_hi;
  if (chart.log_x) {
    const double e_lo = std::floor(std::log2(x_min)), e_hi = std::ceil(std::log2(x_max) + 1e-9);
    x_lo = std::pow(2.0, e_lo);
    x_hi = std::pow(2.0, std::max(e_hi, e_lo + 1));
    const int every = (e_hi - e_lo) > 12 ? 2 : 1;
    for (double e = e_lo; e <= e_hi + 1e-9; e += every) x_ticks.push_back(std::pow(2.0, e));
  } else {
    const double span = x_max > x_min ? x_max - x_min : std::max(1.0, std::abs(x_max));
    const double step = nice_step(span, 8);
    x_lo = std::floor(x_min / step) * step;
    x_hi = std::ceil(x_max / step) * step;
    if (x_hi <= x_lo) x_hi = x_lo + step;
    for (double v = x_lo; v <= x_hi + step * 1e-6; v += step) x_ticks.push_back(v);
  }
  // y axis: 1-2-5 steps, snapped outwards.
  const double y_span = y_max > y_min ? y_max - y_min : 0.1;
  const double y_step = nice_step(y_span, 6);
  const double y_lo = std::floor(y_min / y_step + 1e-9) * y_step;
  double y_hi = std::ceil(y_max / y_step - 1e-9) * y_step;
  if (y_hi <= y_lo) y_hi = y_lo + y_step;
  std::vector<double> y_ticks;
  for (double v = y_lo; v <= y_hi + y_step * 1e-6; v += y_step) y_ticks.push_back(v);

  auto px = [&](double x) {
    const double f = chart.log_x ? (std::log2(x) - std::log2(x_lo)) / (std::log2(x_hi) - std::log2(x_lo))
                                 : (x - x_lo) / (x_hi - x_lo);
    return left + f * plot_w;
  };
  auto py = [&](double y) { return top + (1 - (y - y_lo) / (y_hi - y_lo)) * plot_h; };

  std::string o;
  o += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(width) + "\" height=\"" + num(height) +
       "\" viewBox=\"0 0 " + num(width) + " " + num(height) +
       "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  o += "<title>" + escape(chart.title) + "</title>\n";
  o += "<rect x=\"0\" y=\"0\" width=\"" + num(width) + "\" height=\"" + num(height) + "\" fill=\"white\"/>\n";
  o += "<text x=\"" + num(left + plot_w / 2) + "\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">" +
       escape(chart.title) + "</text>\n";

  // Grid and ticks.
  o += "<g stroke=\"#e4e4e4\" stroke-width=\"1\">\n";
  for (const double v : x_ticks)
    o += "<line x1=\"" + num(px(v)) + "\" y1=\"" + num(top) + "\" x2=\"" + num(px(v)) + "\" y2=\"" +
         num(top + plot_h) + "\"/>\n";
  for (const double v : y_ticks)
    o += "<line x1=\"" + num(left) + "\" y1=\"" + num(py(v)) + "\" x2=\"" + num(left + plot_w) + "\" y2=\"" +
         num(py(v)) + "\"/>\n";
  o += "</g>\n";
  o += "<rect x=\"" + num(left) + "\" y=\"" + num(top) + "\" width=\"" + num(plot_w) + "\" height=\"" +
       num(plot_h) + "\" fill=\"none\" stroke=\"#333\" stroke-width=\"1\"/>\n";
  o += "<g fill=\"#333\">\n";
  for (const double v : x_ticks) {
    o += "<line x1=\"" + num(px(v)) + "\" y1=\"" + num(top + plot_h) + "\" x2=\"" + num(px(v)) + "\" y2=\"" +
         num(top + plot_h + 5) + "\" stroke=\"#333\"/>\n";
    o += "<text x=\"" + num(px(v)) + "\" y=\"" + num(top + plot_h + 19) + "\" text-anchor=\"middle\">" +
         tick_label(v, chart.log_x ? 1 : (x_ticks.size() > 1 ? x_ticks[1] - x_ticks[0] : 1)) + "</text>\n";
  }
  for (const double v : y_ticks) {
    o += "<line x1=\"" + num(left - 5) + "\" y1=\"" + num(py(v)) + "\" x2=\"" + num(left) + "\" y2=\"" +
         num(py(v)) + "\" stroke=\"#333\"/>\n";
    o += "<text x=\"" + num(left - 8) + "\" y=\"" + num(py(v) + 4) + "\" text-anchor=\"end\">" +
         tick_label(v, y_step) + "</text>\n";
  }
  o += "<text x=\"" + num(left + plot_w / 2) + "\" y=\"" + num(height - 14) + "\" text-anchor=\"middle\">" +
       escape(chart.x_label) + "</text>\n";
  o += "<text x=\"18\" y=\"" + num(top + plot_h / 2) + "\" text-anchor=\"middle\" transform=\"rotate(-90 18 " +
       num(top + plot_h / 2) + ")\">" + escape(chart.y_label) + "</text>\n";
  o += "</g>\n";

  // Reference lines.
  for (const auto& m : chart.marks_x) {
    if (chart.log_x && !(m.value > 0)) continue;
    o += "<g class=\"mark-x\"><line x1=\"" + num(px(m.value)) + "\" y1=\"" + num(top) + "\" x2=\"" +
         num(px(m.value)) + "\" y2=\"" + num(top + plot_h) +
         "\" stroke=\"#777\" stroke-width=\"1.2\" stroke-dasharray=\"2,3\"/>";
    o += "<text x=\"" + num(px(m.value) + 4) + "\" y=\"" + num(top + plot_h - 6) + "\" fill=\"#555\" font-size=\"11\">" +
         escape(m.label) + "</text></g>\n";
  }
  if (chart.target_y) {
    const double y = py(chart.target_y->value);
    o += "<g class=\"target\"><line x1=\"" + num(left) + "\" y1=\"" + num(y) + "\" x2=\"" + num(left + plot_w) +
         "\" y2=\"" + num(y) + "\" stroke=\"#c00\" stroke-width=\"1.5\" stroke-dasharray=\"8,5\"/>";
    o += "<text x=\"" + num(left + 6) + "\" y=\"" + num(y + 14) + "\" fill=\"#c00\" font-size=\"11\">" +
         escape(chart.target_y->label) +
         "</text></g>\n";
  }

  // Series: hollow extra points first, so lines and filled markers stay on top.
  for (const auto& s : chart.series) {
    o += "<g class=\"series\">\n";
    for (const auto& g : s.others)
      for (const auto& p : g.points)
        if (!chart.log_x || p.x > 0) o += marker(g.shape, px(p.x), py(p.y), s.color, true) + "\n";
    std::string points;
    for (const auto& p : s.line) {
      if (chart.log_x && !(p.x > 0)) continue;
      if (!points.empty()) points += " ";
      points += num(px(p.x)) + "," + num(py(p.y));
    }
    o += "<polyline points=\"" + points + "\" fill=\"none\" stroke=\"" + s.color +
         "\" stroke-width=\"2\" stroke-linejoin=\"round\"" +
         (s.dashed ? std::string(" stroke-dasharray=\"6,4\"") : std::string()) + "><title>" + escape(s.name) + "</title></polyline>\n";
    for (const auto& p : s.line)
      if (!chart.log_x || p.x > 0) o += marker(s.line_marker, px(p.x), py(p.y), s.color, false) + "\n";
    o += "</g>\n";
  }

  // Legend.
  double ly = top + 8;
  const double lx = left + plot_w + 18;
  o += "<g class=\"legend\">\n";
  for (const auto& s : chart.series) {
    o += "<line x1=\"" + num(lx) + "\" y1=\"" + num(ly) + "\" x2=\"" + num(lx + 26) + "\" y2=\"" + num(ly) +
         "\" stroke=\"" + s.color + "\" stroke-width=\"2\"" +
         (s.dashed ? std::string(" stroke-dasharray=\"6,4\"") : std::string()) + "/>";
    o += marker(s.line_marker, lx + 13, ly, s.color, false);
    o += "<text x=\"" + num(lx + 34) + "\" y=\"" + num(ly + 4) + "\">" + escape(s.name) + "</text>\n";
    ly += 20;
  }
  if (!chart.marker_legend.empty()) ly += 6;
  for (const auto& m : chart.marker_legend) {
    o += marker(m.shape, lx + 13, ly, "#555", m.hollow);
    o += "<text x=\"" + num(lx + 34) + "\" y=\"" + num(ly + 4) + "\" fill=\"#333\">" + escape(m.label) + "</text>\n";
    ly += 18;
  }
  o += "</g>\n</svg>\n";
  return o;
}

}  // namespace aladdin::sim
