#include "nodulecad/io/probability_map.hpp"

#include <algorithm>
#include <array>
#include <type_traits>
#include <variant>

#include "nodulecad/io/image_file.hpp"

namespace nodulecad {

namespace {
// Every byte's probability: the float of b, divided by 255 in float (probability_volume and the view both read it).
const std::array<float, 256>& byte_table() {
    static const std::array<float, 256> table = [] {
        std::array<float, 256> t{};
        for (int b = 0; b < 256; ++b) {
            float x = static_cast<float>(b);
            x /= 255.0f;
            t[static_cast<std::size_t>(b)] = x;
        }
        return t;
    }();
    return table;
}
}  // namespace

float byte_probability(std::uint8_t b) { return byte_table()[b]; }

// uint8 maps through the same table the view reads, so a copy and a view cannot disagree.
Volume<float> probability_volume(AnyVolume&& v) {
    const auto* bytes = std::get_if<Volume<std::uint8_t>>(&v);
    if (!bytes) return convert_volume<float>(std::move(v));
    const std::array<float, 256>& table = byte_table();
    Volume<float> p;
    p.geometry = bytes->geometry;
    p.voxels.resize(bytes->voxels.size());
    std::transform(bytes->voxels.begin(), bytes->voxels.end(), p.voxels.begin(), [&](std::uint8_t b) { return table[b]; });
    return p;
}

ProbabilityView::ProbabilityView(const Volume<std::uint8_t>& v)
    : geometry_(&v.geometry), bytes_(v.voxels.data()), bytes_table_(byte_table().data()), size_(v.voxels.size()) {}

ProbabilityView probability_view(const AnyVolume& v, Volume<float>& storage) {
    if (const auto* f = std::get_if<Volume<float>>(&v)) return ProbabilityView(*f);
    if (const auto* b = std::get_if<Volume<std::uint8_t>>(&v)) return ProbabilityView(*b);
    storage = probability_volume(AnyVolume(v));
    return ProbabilityView(storage);
}

Volume<float> read_probability_volume(const std::string& path) { return probability_volume(read_image(path)); }

Volume<std::uint8_t> threshold_probability(const AnyVolume& probability, double threshold) {
    return std::visit(
        [&](const auto& v) {
            using T = typename std::decay_t<decltype(v)>::value_type;
            Volume<std::uint8_t> out(v.geometry, 0);
            const double t = std::is_same_v<T, std::uint8_t> ? threshold * 255.0 : threshold;
            for (std::size_t i = 0; i < v.voxels.size(); ++i) out.voxels[i] = static_cast<double>(v.voxels[i]) >= t ? 1 : 0;
            return out;
        },
        probability);
}

}  // namespace nodulecad
