#pragma once
// Seeded randomness: SplitMix64 streams derived from (seed, stream ids) by hashing, so every scan, slice and
// object has its own stream and results never depend on thread scheduling.
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <string_view>
#include <utility>
#include <vector>

namespace nodulecad {

constexpr std::uint64_t mix64(std::uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

// FNV-1a: a string hash that is the same on every platform (std::hash is not), for seeds derived from names.
constexpr std::uint64_t hash_string(std::string_view s) {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
    return h;
}

class Rng {
public:
    explicit Rng(std::uint64_t seed) : state_(mix64(seed + 0x9e3779b97f4a7c15ULL)) {}
    // A stream identified by a seed and any number of ids (scan index, slice, purpose...).
    static Rng derive(std::uint64_t seed, std::initializer_list<std::uint64_t> ids) {
        std::uint64_t h = mix64(seed);
        for (auto id : ids) h = mix64(h ^ (id + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2)));
        return Rng(h);
    }

    std::uint64_t next() {
        state_ += 0x9e3779b97f4a7c15ULL;
        return mix64(state_);
    }
    double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
    double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
    int integer(int lo, int hi) { return lo + static_cast<int>(uniform() * (hi - lo + 1)); }  // [lo, hi]
    bool chance(double p) { return uniform() < p; }
    double normal() {  // Box-Muller
        const double u1 = 1.0 - uniform(), u2 = uniform();
        return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
    }
    // Fast approximate standard normal for per-voxel noise: Irwin-Hall sum of four 16-bit uniforms.
    float fast_normal() {
        const std::uint64_t r = next();
        const float s = static_cast<float>((r & 0xffff) + ((r >> 16) & 0xffff) + ((r >> 32) & 0xffff) + (r >> 48));
        return (s * (1.0f / 65536.0f) - 2.0f) * 1.7320508f;
    }

    // Two approximate standard normals from one draw: each the sum of four bytes (Irwin-Hall, 1,021 levels),
    // ample for CT noise that is rounded to whole HU.
    void fast_normal_pair(float& a, float& b) {
        const std::uint64_t r = next();
        const auto sum4 = [](std::uint64_t w) {
            return static_cast<float>((w & 0xff) + ((w >> 8) & 0xff) + ((w >> 16) & 0xff) + ((w >> 24) & 0xff));
        };
        constexpr float kMean = 510.0f, kInvSd = 1.0f / 147.80f;  // sd = sqrt(4 * (256^2 - 1) / 12)
        a = (sum4(r) - kMean) * kInvSd;
        b = (sum4(r >> 32) - kMean) * kInvSd;
    }

private:
    std::uint64_t state_;
};

// Fisher-Yates: a uniform permutation of v decided by rng alone (the same draws whatever T).
template <class T> void shuffle(std::vector<T>& v, Rng& rng) {
    for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[static_cast<std::size_t>(rng.uniform() * static_cast<double>(i))]);
}

}  // namespace nodulecad
