#include "report/html_report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/files.hpp"
#include "evaluate/localisation.hpp"
#include "io/cohort_layout.hpp"
#include "io/csv.hpp"
#include "io/metaimage.hpp"
#include "io/png.hpp"
#include "io/tables.hpp"
#include "io/text_numbers.hpp"
#include "report/slice_view.hpp"

namespace nodulecad {

namespace fs = std::filesystem;

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
        else o += c;
    }
    return o;
}

std::string fmt(double v, const char* f = "%.3f") {
    char b[48];
    std::snprintf(b, sizeof b, f, v);
    return b;
}

// Training curves: loss, train Dice and validation Dice against epoch, as an inline SVG.
std::string training_svg(const CsvTable& m) {
    std::vector<double> ep, loss, td, vd;
    for (const auto& r : m.rows) {
        ep.push_back(parse_double(r.fields.at(m.column("epoch"))).value_or(0));
        loss.push_back(parse_double(r.fields.at(m.column("train_loss"))).value_or(0));
        td.push_back(parse_double(r.fields.at(m.column("train_dice"))).value_or(0));
        vd.push_back(parse_double(r.fields.at(m.column("val_dice"))).value_or(0));
    }
    if (ep.empty()) return "<p>No epochs in metrics.csv.</p>";
    const double W = 640, H = 320, L = 60, R = 20, T = 20, B = 40;
    const double e0 = ep.front(), e1 = std::max(ep.back(), ep.front() + 1);
    double lo = 0, hi = 1;
    for (double v : loss) lo = std::min(lo, v), hi = std::max(hi, v);
    const auto X = [&](double e) { return L + (e - e0) / (e1 - e0) * (W - L - R); };
    const auto Y = [&](double v) { return T + (hi - v) / (hi - lo) * (H - T - B); };
    std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"640\" height=\"320\" font-family=\"sans-serif\" font-size=\"12\">";
    s += "<rect width=\"640\" height=\"320\" fill=\"white\"/>";
    const auto series = [&](const std::vector<double>& v, const char* colour, const char* name, int row) {
        std::string pts;
        for (std::size_t i = 0; i < v.size(); ++i) pts += fmt(X(ep[i]), "%.1f") + "," + fmt(Y(v[i]), "%.1f") + " ";
        s += "<polyline points=\"" + pts + "\" fill=\"none\" stroke=\"" + colour + "\" stroke-width=\"2\"/>";
        s += "<text x=\"" + fmt(W - 150, "%.0f") + "\" y=\"" + std::to_string(30 + 16 * row) + "\" fill=\"" + colour + "\">" + name + "</text>";
    };
    for (double v = std::ceil(lo * 4) / 4; v <= hi + 1e-9; v += 0.25)
        s += "<line x1=\"" + fmt(L, "%.0f") + "\" x2=\"" + fmt(W - R, "%.0f") + "\" y1=\"" + fmt(Y(v), "%.1f") + "\" y2=\"" + fmt(Y(v), "%.1f") +
             "\" stroke=\"#eee\"/><text x=\"" + fmt(L - 6, "%.0f") + "\" y=\"" + fmt(Y(v) + 4, "%.1f") + "\" text-anchor=\"end\">" + fmt(v, "%.2f") + "</text>";
    series(loss, "#dc2626", "train loss (-Dice)", 0);
    series(td, "#2563eb", "train Dice", 1);
    series(vd, "#16a34a", "validation Dice", 2);
    s += "<text x=\"" + fmt(W / 2, "%.0f") + "\" y=\"" + fmt(H - 8, "%.0f") + "\" text-anchor=\"middle\">epoch " + fmt(e0, "%.0f") + " to " + fmt(ep.back(), "%.0f") + "</text>";
    s += "<rect x=\"" + fmt(L, "%.0f") + "\" y=\"" + fmt(T, "%.0f") + "\" width=\"" + fmt(W - L - R, "%.0f") + "\" height=\"" + fmt(H - T - B, "%.0f") +
         "\" fill=\"none\" stroke=\"#333\"/></svg>";
    return s;
}

std::string png_tag(const Image& im, const std::string& alt) {
    return "<img alt=\"" + escape(alt) + "\" src=\"data:image/png;base64," + base64(encode_png(im)) + "\">";
}

}  // namespace

std::string build_report(const ReportInputs& in) {
    const fs::path ev(in.eval_dir);
    std::error_code ec;
    if (!fs::is_regular_file(ev / "summary.json", ec)) fail(in.eval_dir, "no summary.json (run nodulecad evaluate first)");
    const auto summary = nlohmann::json::parse(read_file((ev / "summary.json").string()));
    std::string h = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>nodulecad report</title><style>"
                    "body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}h1{margin-bottom:0}"
                    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
                    ".big{font-size:2.2em;font-weight:bold}.gallery{display:flex;flex-wrap:wrap;gap:10px}"
                    ".gallery figure{margin:0;width:260px}.gallery img{width:256px;border:1px solid #999}"
                    "figcaption{font-size:.8em}</style></head><body>";
    h += "<h1>nodulecad report</h1><p>Evaluation: " + escape(in.eval_dir) + (in.run_dir.empty() ? "" : "; run: " + escape(in.run_dir)) + "</p>";

    // Headline.
    h += "<h2>LUNA16 score</h2><p class=\"big\">CPM " + fmt(summary.at("cpm").get<double>());
    if (summary.contains("cpm_ci"))
        h += " <span style=\"font-size:.5em\">(95% CI " + fmt(summary["cpm_ci"][0].get<double>()) + "–" + fmt(summary["cpm_ci"][1].get<double>()) + ")</span>";
    h += "</p><table><tr><th>FPs/scan</th>";
    const char* pts[] = {"1/8", "1/4", "1/2", "1", "2", "4", "8"};
    for (const char* p : pts) h += std::string("<th>") + p + "</th>";
    h += "</tr><tr><th>sensitivity</th>";
    for (std::size_t k = 0; k < 7; ++k) h += "<td>" + fmt(summary.at("sensitivities")[k].get<double>()) + "</td>";
    h += "</tr></table><p>" + std::to_string(summary.value("tp", 0)) + " of " + std::to_string(summary.value("nodules", 0)) + " nodules found, " +
         std::to_string(summary.value("fp", 0)) + " false positives over " + std::to_string(summary.value("scans", 0)) + " scans; " +
         std::to_string(summary.value("double_detections", 0)) + " double detections, " + std::to_string(summary.value("ignored_on_excluded", 0)) +
         " marks on excluded findings ignored.</p>";
    if (fs::is_regular_file(ev / "froc.svg", ec)) h += "<h2>FROC</h2>" + read_file((ev / "froc.svg").string());
    if (fs::is_regular_file(ev / "errors.svg", ec)) {
        h += "<h2>Localisation and size errors</h2>";
        if (summary.contains("localisation")) {
            const auto& l = summary["localisation"];
            h += "<p>" + std::to_string(l.value("matched", 0)) + " of " + std::to_string(l.value("nodules", 0)) + " nodules paired with a candidate.</p><table><tr><th></th><th>mean</th><th>sd</th><th>MSE</th></tr>";
            for (const char* k : {"x", "y", "z", "diameter"})
                if (l.contains(k) && l[k].value("count", 0) > 0)
                    h += std::string("<tr><th>") + k + "</th><td>" + fmt(l[k]["mean"].get<double>(), "%.2f") + "</td><td>" + fmt(l[k]["sd"].get<double>(), "%.2f") +
                         "</td><td>" + fmt(l[k]["mse"].get<double>(), "%.2f") + "</td></tr>";
            h += "</table>";
        }
        h += read_file((ev / "errors.svg").string());
    }

    // Training.
    if (!in.run_dir.empty()) {
        const fs::path run(in.run_dir);
        if (fs::is_regular_file(run / "metrics.csv", ec)) h += "<h2>Training</h2>" + training_svg(read_csv((run / "metrics.csv").string(), true));
        if (fs::is_regular_file(run / "config.json", ec)) {
            h += "<h2>Configuration</h2><table>";
            const nlohmann::json config = nlohmann::json::parse(read_file((run / "config.json").string()));
            for (const auto& [k, v] : config.items())
                h += "<tr><th>" + escape(k) + "</th><td style=\"text-align:left\">" + escape(v.dump()) + "</td></tr>";
            h += "</table>";
        }
    }

    // Gallery: true positives, false positives and misses, on the scans with the predicted mask over them.
    if (!in.data_dir.empty() && summary.contains("inputs")) {
        const auto& inputs = summary["inputs"];
        std::map<std::string, std::string> scan_path;
        for (const auto& f : find_scans(in.data_dir)) scan_path[f.uid] = f.path;
        const auto ann = read_annotations(inputs.at("annotations").get<std::string>());
        const auto res = read_results(inputs.at("results").get<std::string>());
        const auto errors = pair_nodules(ann, res);
        struct Item {
            std::string uid, caption;
            Vec3 world;
        };
        std::vector<Item> tp, fp, miss;
        for (const auto& e : errors) {
            if (!scan_path.count(e.nodule.seriesuid)) continue;
            (e.matched ? tp : miss).push_back({e.nodule.seriesuid, (e.matched ? "detected, p=" + fmt(e.candidate.probability, "%.2f") : std::string("missed")) +
                                                                       ", " + fmt(e.nodule.diameter_mm, "%.1f") + " mm", e.nodule.world});
        }
        std::vector<Candidate> sorted = res;
        std::sort(sorted.begin(), sorted.end(), [](const Candidate& a, const Candidate& b) { return a.probability > b.probability; });
        for (const auto& c : sorted) {
            if (static_cast<int>(fp.size()) >= in.gallery_per_kind) break;
            if (!scan_path.count(c.seriesuid)) continue;
            bool near = false;
            for (const auto& a : ann)
                if (a.seriesuid == c.seriesuid && std::hypot(a.world[0] - c.world[0], a.world[1] - c.world[1], a.world[2] - c.world[2]) < a.diameter_mm / 2) near = true;
            if (!near) fp.push_back({c.seriesuid, "false positive, p=" + fmt(c.probability, "%.2f"), c.world});
        }
        h += "<h2>Gallery</h2>";
        for (const auto& [title, items] : {std::pair<const char*, std::vector<Item>*>{"True positives", &tp}, {"False positives", &fp}, {"Missed nodules", &miss}}) {
            h += std::string("<h3>") + title + "</h3><div class=\"gallery\">";
            int shown = 0;
            for (const auto& it : *items) {
                if (shown >= in.gallery_per_kind) break;
                const Volume<std::int16_t> scan = read_volume<std::int16_t>(scan_path[it.uid]);
                Volume<std::uint8_t> overlay;
                SliceViewOptions v;
                v.world_point = it.world;
                const fs::path pred = fs::path(in.pred_dir) / (it.uid + "_prob.mhd");
                if (!in.pred_dir.empty() && fs::is_regular_file(pred, ec)) {
                    const auto prob = read_volume<std::uint8_t>(pred.string());
                    overlay = Volume<std::uint8_t>(prob.geometry, 0);
                    for (std::size_t n = 0; n < prob.voxels.size(); ++n) overlay.voxels[n] = prob.voxels[n] >= 128;
                    if (overlay.geometry == scan.geometry) v.overlay = &overlay;
                }
                h += "<figure>" + png_tag(render_slice_view(scan, v), it.caption) + "<figcaption>" + escape(it.caption) + "<br>" + escape(it.uid.substr(it.uid.size() > 12 ? it.uid.size() - 12 : 0)) +
                     " at (" + fmt(it.world[0], "%.0f") + ", " + fmt(it.world[1], "%.0f") + ", " + fmt(it.world[2], "%.0f") + ")</figcaption></figure>";
                ++shown;
            }
            if (shown == 0) h += "<p>None.</p>";
            h += "</div>";
        }
    }
    // A marker for automated checks: every picture loaded and has a size.
    h += "<script>window.addEventListener('load',function(){var i=document.images,ok=0;for(var n=0;n<i.length;n++)if(i[n].complete&&i[n].naturalWidth>0)ok++;"
         "document.body.setAttribute('data-images',ok+'/'+i.length);});</script></body></html>\n";
    return h;
}

}  // namespace nodulecad
