#include "nodulecad/io/probability_map.hpp"

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
