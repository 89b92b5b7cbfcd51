#include "nodulecad/io/probability_map.hpp"

#include <array>
#include <type_traits>
#include <variant>

#include "nodulecad/io/image_file.hpp"

namespace nodulecad {

Volume<float> probability_volume(AnyVolume&& v) {
    const bool bytes = element_type_of_volume(v) == ElementType::UInt8;
    Volume<float> p = convert_volume<float>(std::move(v));
    if (bytes)
        for (float& x : p.voxels) x /= 255.0f;
    return p;
}

namespace {
// probability_volume's arithmetic for every byte: the float of b, divided by 255 in float.
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
