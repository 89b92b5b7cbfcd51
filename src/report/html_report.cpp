#include "nodulecad/report/html_report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>

#include "nodulecad/core/error.hpp"
#include "nodulecad/core/files.hpp"
#include "nodulecad/evaluate/localisation.hpp"
#include "nodulecad/io/cohort_layout.hpp"
#include "nodulecad/io/csv.hpp"
#include "nodulecad/io/image_file.hpp"
#include "nodulecad/io/metaimage.hpp"
#include "nodulecad/io/png.hpp"
#include "nodulecad/io/probability_map.hpp"
#include "nodulecad/io/tables.hpp"
#include "nodulecad/io/text_numbers.hpp"
#include "nodulecad/report/slice_view.hpp"

namespace nodulecad {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string base64(const std::string& in) {
    static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((in.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        const unsigned v = static_cast<unsigned char>(in[i]) << 16 | static_cast<unsigned char>(in[i + 1]) << 8 | static_cast<unsigned char>(in[i + 2]);
        out += t[v >> 18];
        out += t[(v >> 12) & 63];
        out += t[(v >> 6) & 63];
        out += t[v & 63];
    }
    if (i < in.size()) {
        unsigned v = static_cast<unsigned char>(in[i]) << 16;
        if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
        out += t[v >> 18];
        out += t[(v >> 12) & 63];
        out += i + 1 < in.size() ? t[(v >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

namespace {

std::string escape(const std::string& s) {
    std::string o;
    for (char c : s) {
        if (c == '<') o += "&lt;";
        else if (c == '>') o += "&gt;";
        else if (c == '&') o += "&amp;";
        else if (c == '"') o += "&quot;";
        else o += c;
    }
    return o;
}

std::string fmt(double v, const char* f = "%.3f") {
    char b[48];
    std::snprintf(b, sizeof b, f, v);
    return b;
}

const char* kStyle =
    "body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}h1{margin-bottom:0}"
    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
    ".big{font-size:2.2em;font-weight:bold}.gallery{display:flex;flex-wrap:wrap;gap:14px}"
    ".gallery figure{margin:0;width:412px}.gallery img{border:1px solid #999;vertical-align:top}"
    ".gallery img.slice{width:160px}.gallery img.zoom{width:240px;margin-left:6px}"
    "figcaption{font-size:.8em}.note{color:#555;font-size:.9em}"
    ".config td{text-align:left;max-width:880px;overflow-wrap:anywhere}";

// One curve of the training plot: its points, skipping missing values (a run without validation patients has none).
std::string polyline(const std::vector<double>& x, const std::vector<double>& y, const std::function<double(double)>& X,
                     const std::function<double(double)>& Y, const char* colour) {
    std::string pts;
    for (std::size_t i = 0; i < y.size(); ++i)
        if (std::isfinite(y[i])) pts += fmt(X(x[i]), "%.1f") + "," + fmt(Y(y[i]), "%.1f") + " ";
    if (pts.empty()) return "";
    return "<polyline points=\"" + pts + "\" fill=\"none\" stroke=\"" + colour + "\" stroke-width=\"2\"/>";
}

// Training curves: loss, train Dice and validation Dice against epoch, as an inline SVG; the legend in its own
// column right of the plot, never over the curves.
std::string training_svg(const CsvTable& m) {
    const auto column = [&](const char* name) {
        std::vector<double> v;
        const auto it = std::find(m.header.begin(), m.header.end(), name);
        for (const auto& r : m.rows)
            v.push_back(it == m.header.end() ? NAN : parse_double(r.fields.at(static_cast<std::size_t>(it - m.header.begin()))).value_or(NAN));
        return v;
    };
    const std::vector<double> ep = column("epoch"), loss = column("train_loss"), td = column("train_dice"), vd = column("val_dice");
    if (ep.empty()) return "<p>No epochs in metrics.csv.</p>";
    const double W = 760, H = 320, L = 60, R = 180, T = 20, B = 40;
    const double e0 = ep.front(), e1 = std::max(ep.back(), ep.front() + 1);
    double lo = 0, hi = 1;
    for (double v : loss)
        if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
    const auto X = [&](double e) { return L + (e - e0) / (e1 - e0) * (W - L - R); };
    const auto Y = [&](double v) { return T + (hi - v) / (hi - lo) * (H - T - B); };
    std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"760\" height=\"320\" font-family=\"sans-serif\" font-size=\"12\">";
    s += "<rect width=\"760\" height=\"320\" fill=\"white\"/>";
    for (double v = std::ceil(lo * 4) / 4; v <= hi + 1e-9; v += 0.25)
        s += "<line x1=\"" + fmt(L, "%.0f") + "\" x2=\"" + fmt(W - R, "%.0f") + "\" y1=\"" + fmt(Y(v), "%.1f") + "\" y2=\"" + fmt(Y(v), "%.1f") +
             "\" stroke=\"#eee\"/><text x=\"" + fmt(L - 6, "%.0f") + "\" y=\"" + fmt(Y(v) + 4, "%.1f") + "\" text-anchor=\"end\">" + fmt(v, "%.2f") + "</text>";
    const struct {
        const std::vector<double>* v;
        const char *colour, *name;
    } series[] = {{&loss, "#dc2626", "train loss"}, {&td, "#2563eb", "train Dice"}, {&vd, "#16a34a", "validation Dice"}};
    int row = 0;
    for (const auto& c : series) {
        const std::string line = polyline(ep, *c.v, X, Y, c.colour);
        if (line.empty()) continue;
        s += line;
        const double ly = T + 14 + 20 * row++;
        s += "<line x1=\"" + fmt(W - R + 16, "%.0f") + "\" x2=\"" + fmt(W - R + 40, "%.0f") + "\" y1=\"" + fmt(ly - 4, "%.0f") + "\" y2=\"" +
             fmt(ly - 4, "%.0f") + "\" stroke=\"" + c.colour + "\" stroke-width=\"2\"/><text x=\"" + fmt(W - R + 46, "%.0f") + "\" y=\"" + fmt(ly, "%.0f") +
             "\">" + c.name + "</text>";
    }
    s += "<text x=\"" + fmt((L + W - R) / 2, "%.0f") + "\" y=\"" + fmt(H - 8, "%.0f") + "\" text-anchor=\"middle\">epoch " + fmt(e0, "%.0f") + " to " +
         fmt(ep.back(), "%.0f") + "</text>";
    s += "<rect x=\"" + fmt(L, "%.0f") + "\" y=\"" + fmt(T, "%.0f") + "\" width=\"" + fmt(W - L - R, "%.0f") + "\" height=\"" + fmt(H - T - B, "%.0f") +
         "\" fill=\"none\" stroke=\"#333\"/></svg>";
    return s;
}

std::string png_tag(const Image& im, const std::string& alt, const char* css_class) {
    return "<img class=\"" + std::string(css_class) + "\" alt=\"" + escape(alt) + "\" src=\"data:image/png;base64," + base64(encode_png(im)) + "\">";
}

std::string headline_section(const json& summary) {
    std::string h = "<h2>LUNA16 score</h2><p class=\"big\">CPM " + fmt(summary.at("cpm").get<double>());
    if (summary.contains("cpm_ci"))
        h += " <span style=\"font-size:.5em\">(95% CI " + fmt(summary["cpm_ci"][0].get<double>()) + "–" + fmt(summary["cpm_ci"][1].get<double>()) + ")</span>";
    h += "</p><table><tr><th>FPs/scan</th>";
    for (const char* p : {"1/8", "1/4", "1/2", "1", "2", "4", "8"}) h += std::string("<th>") + p + "</th>";
    h += "</tr><tr><th>sensitivity</th>";
    for (std::size_t k = 0; k < 7; ++k) h += "<td>" + fmt(summary.at("sensitivities")[k].get<double>()) + "</td>";
    h += "</tr></table><p>" + std::to_string(summary.value("tp", 0)) + " of " + std::to_string(summary.value("nodules", 0)) + " nodules found, " +
         std::to_string(summary.value("fp", 0)) + " false positives over " + std::to_string(summary.value("scans", 0)) + " scans; " +
         std::to_string(summary.value("double_detections", 0)) + " double detections, " + std::to_string(summary.value("ignored_on_excluded", 0)) +
         " marks on excluded findings ignored.</p>";
    return h;
}

// Sensitivity at 1, 2 and 8 FPs/scan by diameter bin (and kind and location for a synthetic cohort).
std::string subgroups_section(const json& summary) {
    std::string h = "<h2>Sensitivity by size and kind</h2><p>Each group's FROC is the official one with the other nodules counted as "
                    "excluded findings, so the false positives per scan are the whole evaluation's.</p><table><tr><th></th><th></th>"
                    "<th>nodules</th><th>found</th><th>1 FP/scan</th><th>2 FPs/scan</th><th>8 FPs/scan</th></tr>";
    for (const auto& g : summary.at("subgroups")) {
        h += "<tr><th>" + escape(g.value("family", std::string())) + "</th><th>" + escape(g.value("group", std::string())) + "</th><td>" +
             std::to_string(g.value("nodules", 0)) + "</td><td>" + std::to_string(g.value("detected", 0)) + "</td>";
        for (const auto& v : g.at("sensitivities")) h += "<td>" + fmt(v.get<double>()) + "</td>";
        h += "</tr>";
    }
    return h + "</table>";
}

std::string errors_section(const json& summary, const fs::path& ev) {
    std::string h = "<h2>Localisation and size errors</h2>";
    if (summary.contains("localisation")) {
        const auto& l = summary["localisation"];
        h += "<p>" + std::to_string(l.value("matched", 0)) + " of " + std::to_string(l.value("nodules", 0)) +
             " nodules paired with a candidate.</p><table><tr><th></th><th>mean</th><th>sd</th><th>MSE</th></tr>";
        for (const char* k : {"x", "y", "z", "diameter"})
            if (l.contains(k) && l[k].value("count", 0) > 0)
                h += std::string("<tr><th>") + k + "</th><td>" + fmt(l[k]["mean"].get<double>(), "%.2f") + "</td><td>" + fmt(l[k]["sd"].get<double>(), "%.2f") +
                     "</td><td>" + fmt(l[k]["mse"].get<double>(), "%.2f") + "</td></tr>";
        h += "</table>";
        if (l.value("matched", 0) > 0 && (!l.contains("diameter") || l["diameter"].value("count", 0) == 0))
            h += "<p class=\"note\">No diameter errors: the results file has no diameter_mm column (a LUNA16 submission has none; "
                 "the candidates detect writes do).</p>";
    }
    std::error_code ec;
    if (fs::is_regular_file(ev / "errors.svg", ec)) h += read_file((ev / "errors.svg").string());
    return h;
}

// A configuration value as people read it: text as is, an object as "key value; key value" (nested ones compact).
std::string config_value(const json& v) {
    if (v.is_string()) return v.get<std::string>();
    if (!v.is_object()) return v.dump();
    std::string out;
    for (const auto& [k, x] : v.items()) out += (out.empty() ? "" : "; ") + k + " " + (x.is_string() ? x.get<std::string>() : x.dump());
    return out;
}

// "Reached": what the run's metrics.csv says it got to, beside what it was started with (config.json).
std::string training_section(const fs::path& run) {
    std::error_code ec;
    std::string h;
    if (fs::is_regular_file(run / "metrics.csv", ec)) {
        const CsvTable m = read_csv((run / "metrics.csv").string(), true);
        h += "<h2>Training</h2>" + training_svg(m);
        const auto it = std::find(m.header.begin(), m.header.end(), "val_dice");
        int best_epoch = 0;
        double best = -1;
        for (const auto& r : m.rows) {
            const double v = it == m.header.end() ? NAN : parse_double(r.fields.at(static_cast<std::size_t>(it - m.header.begin()))).value_or(NAN);
            if (std::isfinite(v) && v > best) best = v, best_epoch = static_cast<int>(parse_double(r.fields.at(0)).value_or(0));
        }
        h += "<p>Reached: " + std::to_string(m.rows.size()) + " epochs; " +
             (best_epoch > 0 ? "best validation Dice " + fmt(best) + " at epoch " + std::to_string(best_epoch) + " (best.pt)"
                             : std::string("no validation Dice (no validation patients): best.pt is the last epoch")) +
             ".</p>";
    }
    if (fs::is_regular_file(run / "config.json", ec)) {
        h += "<h2>Configuration</h2><table class=\"config\">";
        const json config = json::parse(read_file((run / "config.json").string()));
        for (const auto& [k, v] : config.items()) h += "<tr><th>" + escape(k) + "</th><td>" + escape(config_value(v)) + "</td></tr>";
        h += "</table>";
    }
    return h;
}

struct GalleryItem {
    std::string uid, caption;
    Vec3 world;
    double diameter_mm;  // the ring's; NaN: a cross-hair
};

struct Gallery {
    std::vector<GalleryItem> tp, fp, missed;
};

// True positives and misses from the pairing of nodules with marks; false positives: the most probable marks that
// hit no nodule (LUNA16's rule).
Gallery gallery_items(const std::vector<Annotation>& ann, const std::vector<Candidate>& res, const std::map<std::string, ScanFile>& scans, int per_kind) {
    Gallery g;
    for (const auto& e : pair_nodules(ann, res)) {
        if (!scans.count(e.nodule.seriesuid)) continue;
        const std::string what = e.matched ? "detected, p=" + fmt(e.candidate.probability, "%.2f") : std::string("missed");
        (e.matched ? g.tp : g.missed).push_back({e.nodule.seriesuid, what + ", " + fmt(e.nodule.diameter_mm, "%.1f") + " mm", e.nodule.world, e.nodule.diameter_mm});
    }
    std::vector<Candidate> sorted = res;
    std::stable_sort(sorted.begin(), sorted.end(), [](const Candidate& a, const Candidate& b) { return a.probability > b.probability; });
    for (const auto& c : sorted) {
        if (static_cast<int>(g.fp.size()) >= per_kind) break;
        if (!scans.count(c.seriesuid)) continue;
        bool near = false;
        for (const auto& a : ann) near = near || (a.seriesuid == c.seriesuid && luna16_hit(c.world, a));
        if (!near) g.fp.push_back({c.seriesuid, "false positive, p=" + fmt(c.probability, "%.2f"), c.world, c.diameter_mm});
    }
    return g;
}

// One finding: the whole axial slice (small) and the zoom around it, both with the prediction over them when given.
std::string gallery_figure(const GalleryItem& it, const ScanFile& scan_file, const std::string& pred_dir) {
    const Volume<std::int16_t> scan = read_scan(scan_file);
    Volume<std::uint8_t> marks;
    const std::string pred = pred_dir.empty() ? "" : prediction_path(pred_dir, it.uid);
    if (!pred.empty()) marks = threshold_probability(read_image(pred), 0.5);
    const Volume<std::uint8_t>* overlay = !marks.voxels.empty() && same_grid(marks.geometry, scan.geometry) ? &marks : nullptr;
    SliceViewOptions whole;
    whole.world_point = it.world;
    whole.overlay = overlay;
    ZoomViewOptions zoom;
    zoom.centre = it.world;
    zoom.ring_diameter_mm = it.diameter_mm;
    zoom.overlay = overlay;
    return "<figure>" + png_tag(render_slice_view(scan, whole), it.caption, "slice") +
           png_tag(render_zoom_view(scan, zoom), it.caption + " (60 mm across)", "zoom") + "<figcaption>" + escape(it.caption) + "<br>" +
           escape(it.uid.substr(it.uid.size() > 12 ? it.uid.size() - 12 : 0)) + " at (" + fmt(it.world[0], "%.0f") + ", " + fmt(it.world[1], "%.0f") +
           ", " + fmt(it.world[2], "%.0f") + "); right: 60 mm around it</figcaption></figure>";
}

std::string gallery_section(const json& summary, const ReportInputs& in) {
    const auto& inputs = summary.at("inputs");
    std::map<std::string, ScanFile> scan_path;
    for (const auto& f : find_scans(in.data_dir)) scan_path[f.uid] = f;
    const Gallery g = gallery_items(read_annotations(inputs.at("annotations").get<std::string>()), read_results(inputs.at("results").get<std::string>()),
                                    scan_path, in.gallery_per_kind);
    std::string h = "<h2>Gallery</h2><p class=\"note\">Each finding on its whole axial slice and 60 mm around it (window -1000 to 400 HU; "
                    "ring: the nodule's size, cross-hair: a mark without one; red: the predicted mask).</p>";
    for (const auto& [title, items] : {std::pair<const char*, const std::vector<GalleryItem>*>{"True positives", &g.tp}, {"False positives", &g.fp},
                                       {"Missed nodules", &g.missed}}) {
        h += std::string("<h3>") + title + "</h3><div class=\"gallery\">";
        int shown = 0;
        for (const auto& it : *items) {
            if (shown++ >= in.gallery_per_kind) break;
            h += gallery_figure(it, scan_path.at(it.uid), in.pred_dir);
        }
        if (shown == 0) h += "<p>None.</p>";
        h += "</div>";
    }
    return h;
}

// Markers for automated checks: every picture loaded and has a size (data-images="loaded/total"), and every zoom view
// shows something — not one flat colour (data-zooms="non-blank/total").
const char* kCheckScript =
    "<script>window.addEventListener('load',function(){var i=document.images,ok=0;for(var n=0;n<i.length;n++)if(i[n].complete&&i[n].naturalWidth>0)ok++;"
    "document.body.setAttribute('data-images',ok+'/'+i.length);var z=document.querySelectorAll('img.zoom'),seen=0;"
    "for(var k=0;k<z.length;k++){try{var c=document.createElement('canvas');c.width=z[k].naturalWidth;c.height=z[k].naturalHeight;"
    "var x=c.getContext('2d');x.drawImage(z[k],0,0);var d=x.getImageData(0,0,c.width,c.height).data,lo=255,hi=0;"
    "for(var p=0;p<d.length;p+=4){lo=Math.min(lo,d[p+1]);hi=Math.max(hi,d[p+1]);}if(hi-lo>40)seen++;}catch(e){}}"
    "document.body.setAttribute('data-zooms',seen+'/'+z.length);});</script>";

}  // namespace

std::string build_report(const ReportInputs& in) {
    const fs::path ev(in.eval_dir);
    std::error_code ec;
    if (!fs::is_regular_file(ev / "summary.json", ec)) fail(in.eval_dir, "no summary.json (run nodulecad evaluate first)");
    const auto summary = json::parse(read_file((ev / "summary.json").string()));
    std::string h = std::string("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>nodulecad report</title><style>") + kStyle +
                    "</style></head><body>";
    h += "<h1>nodulecad report</h1><p>Evaluation: " + escape(in.eval_dir) + (in.run_dir.empty() ? "" : "; run: " + escape(in.run_dir)) + "</p>";
    h += headline_section(summary);
    if (summary.contains("subgroups") && !summary["subgroups"].empty()) h += subgroups_section(summary);
    if (fs::is_regular_file(ev / "froc.svg", ec)) h += "<h2>FROC</h2>" + read_file((ev / "froc.svg").string());
    if (fs::is_regular_file(ev / "errors.svg", ec) || summary.contains("localisation")) h += errors_section(summary, ev);
    if (!in.run_dir.empty()) h += training_section(fs::path(in.run_dir));
    if (!in.data_dir.empty() && summary.contains("inputs")) h += gallery_section(summary, in);
    return h + kCheckScript + "</body></html>\n";
}

}  // namespace nodulecad
