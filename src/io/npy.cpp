#include "nodulecad/io/npy.hpp"

#include <algorithm>
#include <cstring>

#include "nodulecad/core/files.hpp"
#include "nodulecad/core/error.hpp"
#include "nodulecad/io/text_numbers.hpp"

namespace nodulecad {

std::uint64_t NpyHeader::element_count() const {
    std::uint64_t n = 1;
    for (auto s : shape) n *= static_cast<std::uint64_t>(s);
    return n;
}

namespace {

constexpr char kMagic[] = "\x93NUMPY";

struct DtypeName {
    char kind;  // 'i', 'u', 'f'
    std::size_t bytes;
    ElementType type;
};
constexpr DtypeName kDtypes[] = {
    {'i', 1, ElementType::Int8},   {'u', 1, ElementType::UInt8},   {'i', 2, ElementType::Int16},
    {'u', 2, ElementType::UInt16}, {'i', 4, ElementType::Int32},   {'u', 4, ElementType::UInt32},
    {'f', 4, ElementType::Float32}, {'f', 8, ElementType::Float64},
};

// A tiny reader for the Python dict literal NumPy writes: {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
class DictReader {
public:
    DictReader(std::string_view s, const std::string& source) : s_(s), source_(source) {}

    void parse(NpyHeader& h) {
        bool have_descr = false, have_order = false, have_shape = false;
        expect('{');
        for (;;) {
            skip();
            if (peek() == '}') break;
            const std::string key = string_literal();
            expect(':');
            skip();
            if (key == "descr") {
                descr(string_literal(), h);
                have_descr = true;
            } else if (key == "fortran_order") {
                const std::string v = word();
                if (v == "True") bad("Fortran-order arrays are not supported (save with C order)");
                if (v != "False") bad("fortran_order must be True or False, got '" + v + "'");
                have_order = true;
            } else if (key == "shape") {
                h.shape = tuple();
                have_shape = true;
            } else {
                bad("unexpected key '" + key + "' in header");
            }
            skip();
            if (peek() == ',') {
                ++pos_;
                continue;
            }
            skip();
            if (peek() != '}') bad("expected ',' or '}' in header");
        }
        if (!have_descr || !have_order || !have_shape) bad("header lacks descr, fortran_order or shape");
    }

private:
    std::string_view s_;
    const std::string& source_;
    std::size_t pos_ = 0;

    [[noreturn]] void bad(const std::string& msg) const { fail(source_, "npy header: " + msg); }
    void skip() {
        while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t')) ++pos_;
    }
    char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
    void expect(char c) {
        skip();
        if (peek() != c) bad(std::string("expected '") + c + "'");
        ++pos_;
    }
    std::string string_literal() {
        skip();
        const char q = peek();
        if (q != '\'' && q != '"') bad("expected a quoted string");
        const std::size_t end = s_.find(q, pos_ + 1);
        if (end == std::string_view::npos) bad("unterminated string");
        std::string out(s_.substr(pos_ + 1, end - pos_ - 1));
        pos_ = end + 1;
        return out;
    }
    std::string word() {
        const std::size_t start = pos_;
        while (pos_ < s_.size() && std::isalpha(static_cast<unsigned char>(s_[pos_]))) ++pos_;
        return std::string(s_.substr(start, pos_ - start));
    }
    std::vector<std::int64_t> tuple() {
        expect('(');
        std::vector<std::int64_t> dims;
        for (;;) {
            skip();
            if (peek() == ')') {
                ++pos_;
                return dims;
            }
            const std::size_t start = pos_;
            while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) ++pos_;
            const auto v = parse_int(s_.substr(start, pos_ - start));
            if (!v) bad("shape must be a tuple of non-negative integers");
            dims.push_back(*v);
            skip();
            if (peek() == ',') ++pos_;
            else if (peek() != ')') bad("expected ',' or ')' in shape");
        }
    }
    void descr(const std::string& d, NpyHeader& h) {
        if (d.size() < 3) bad("unsupported dtype '" + d + "'");
        const char order = d[0];
        if (order != '<' && order != '>' && order != '|' && order != '=') bad("unsupported dtype '" + d + "'");
        const auto bytes = parse_int(std::string_view(d).substr(2));
        if (d[1] == 'f' && bytes && *bytes == 2) {
            h.dtype = ElementType::Float32;
            h.float16 = true;
            h.big_endian = order == '>';
            return;
        }
        for (const auto& t : kDtypes)
            if (t.kind == d[1] && bytes && static_cast<std::size_t>(*bytes) == t.bytes) {
                h.dtype = t.type;
                h.big_endian = order == '>' && t.bytes > 1;
                return;
            }
        bad("unsupported dtype '" + d + "' (supported: float16, float32, float64, int8..int32, uint8..uint32)");
    }
};

const DtypeName& dtype_info(ElementType t) {
    for (const auto& d : kDtypes)
        if (d.type == t) return d;
    return kDtypes[0];
}

}  // namespace

NpyHeader parse_npy_header(std::string_view bytes, const std::string& source) {
    if (bytes.size() < 10 || bytes.substr(0, 6) != std::string_view(kMagic, 6))
        fail(source, "not a NumPy .npy file (missing \\x93NUMPY magic)");
    NpyHeader h;
    h.major_version = static_cast<unsigned char>(bytes[6]);
    std::size_t len = 0, start = 0;
    const auto byte = [&](std::size_t i) { return static_cast<std::size_t>(static_cast<unsigned char>(bytes[i])); };
    if (h.major_version == 1) {
        len = byte(8) | byte(9) << 8;
        start = 10;
    } else if (h.major_version == 2 || h.major_version == 3) {
        if (bytes.size() < 12) fail(source, "npy file truncated inside its header");
        len = byte(8) | byte(9) << 8 | byte(10) << 16 | byte(11) << 24;
        start = 12;
    } else {
        fail(source, "npy format version " + std::to_string(h.major_version) + " is not supported");
    }
    if (bytes.size() < start + len)
        fail(source, "npy file truncated inside its header (" + std::to_string(bytes.size()) + " bytes, header needs " +
                         std::to_string(start + len) + ")");
    DictReader(bytes.substr(start, len), source).parse(h);
    h.data_offset = start + len;
    for (auto d : h.shape)
        if (d < 0) fail(source, "npy header: negative dimension");
    return h;
}

std::size_t npy_element_size(const NpyHeader& h) { return h.float16 ? 2 : element_size(h.dtype); }

std::uint16_t float_to_half(float f) {
    std::uint32_t x;
    std::memcpy(&x, &f, 4);
    const std::uint32_t sign = (x >> 16) & 0x8000u;
    const std::uint32_t exp = (x >> 23) & 0xffu;
    std::uint32_t mant = x & 0x7fffffu;
    if (exp == 0xff) return static_cast<std::uint16_t>(sign | 0x7c00u | (mant ? 0x200u : 0));  // inf / NaN
    const int e = static_cast<int>(exp) - 127 + 15;
    if (e >= 0x1f) return static_cast<std::uint16_t>(sign | 0x7c00u);  // overflow: inf
    if (e <= 0) {  // subnormal half (or zero)
        if (e < -10) return static_cast<std::uint16_t>(sign);
        mant |= 0x800000u;
        const int shift = 14 - e;
        std::uint32_t half = mant >> shift;
        const std::uint32_t rest = mant & ((1u << shift) - 1), halfway = 1u << (shift - 1);
        if (rest > halfway || (rest == halfway && (half & 1u))) ++half;
        return static_cast<std::uint16_t>(sign | half);
    }
    std::uint32_t half = (static_cast<std::uint32_t>(e) << 10) | (mant >> 13);
    const std::uint32_t rest = mant & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (half & 1u))) ++half;  // may carry into the exponent: correct
    return static_cast<std::uint16_t>(sign | half);
}

float half_to_float(std::uint16_t h) {
    const std::uint32_t sign = (static_cast<std::uint32_t>(h) & 0x8000u) << 16;
    std::uint32_t exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
    std::uint32_t x;
    if (exp == 0) {
        if (mant == 0) {
            x = sign;
        } else {  // subnormal: normalise
            int e = -1;
            do {
                ++e;
                mant <<= 1;
            } while (!(mant & 0x400u));
            x = sign | (static_cast<std::uint32_t>(127 - 15 - e) << 23) | ((mant & 0x3ffu) << 13);
        }
    } else if (exp == 0x1f) {
        x = sign | 0x7f800000u | (mant << 13);
    } else {
        x = sign | ((exp + 127 - 15) << 23) | (mant << 13);
    }
    float f;
    std::memcpy(&f, &x, 4);
    return f;
}

std::string format_npy_header(ElementType dtype, const std::vector<std::int64_t>& shape) {
    const DtypeName& d = dtype_info(dtype);
    return format_npy_header(std::string(1, d.bytes == 1 ? '|' : '<') + d.kind + std::to_string(d.bytes), shape);
}

std::string format_npy_header(const std::string& descr, const std::vector<std::int64_t>& shape) {
    std::string shape_text = "(";
    for (std::size_t i = 0; i < shape.size(); ++i) shape_text += (i ? ", " : "") + std::to_string(shape[i]);
    if (shape.size() == 1) shape_text += ",";
    shape_text += ")";
    std::string dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape_text + ", }";
    // Version 1 stores the header length in 16 bits; longer headers need version 2.
    const bool v2 = dict.size() + 11 + 64 > 65535;
    const std::size_t prefix = v2 ? 12 : 10;
    const std::size_t total = (prefix + dict.size() + 1 + 63) / 64 * 64;
    dict.append(total - prefix - dict.size() - 1, ' ');
    dict += '\n';
    std::string out(kMagic, 6);
    out += static_cast<char>(v2 ? 2 : 1);
    out += '\0';
    const std::size_t len = dict.size();
    out += static_cast<char>(len & 0xff);
    out += static_cast<char>((len >> 8) & 0xff);
    if (v2) {
        out += static_cast<char>((len >> 16) & 0xff);
        out += static_cast<char>((len >> 24) & 0xff);
    }
    return out + dict;
}

namespace {

// Bytes of array data the header promises; Error on overflow or when the converted array would exceed max_bytes.
std::uint64_t npy_data_bytes(const NpyHeader& h, std::size_t target_width, const std::string& source,
                             std::uint64_t max_bytes) {
    const std::size_t width = npy_element_size(h);
    std::uint64_t need = width;
    for (auto d : h.shape)
        if (__builtin_mul_overflow(need, static_cast<std::uint64_t>(d), &need))
            fail(source, "npy shape overflows 64-bit byte counts");
    if (need > max_bytes || need / width * target_width > max_bytes)
        fail(source, "npy array needs " + std::to_string(need) + " bytes, over the memory limit of " +
                         std::to_string(max_bytes) + " bytes");
    return need;
}

}  // namespace

template <class T> NpyArray<T> parse_npy(std::string_view bytes, const std::string& source, std::uint64_t max_bytes) {
    const NpyHeader h = parse_npy_header(bytes, source);
    const std::size_t width = npy_element_size(h);
    const std::uint64_t need = npy_data_bytes(h, sizeof(T), source, max_bytes);
    const std::uint64_t have = bytes.size() - h.data_offset;
    if (have < need)
        fail(source, "npy data truncated: shape needs " + std::to_string(need) + " bytes, file holds " +
                         std::to_string(have));
    NpyArray<T> out;
    out.shape = h.shape;
    const std::size_t count = static_cast<std::size_t>(need / width);
    out.data.resize(count);
    const char* src = bytes.data() + h.data_offset;
    if (h.float16) {
        for (std::size_t n = 0; n < count; ++n) {
            unsigned char b[2] = {static_cast<unsigned char>(src[2 * n]), static_cast<unsigned char>(src[2 * n + 1])};
            if (h.big_endian) std::swap(b[0], b[1]);
            out.data[n] = static_cast<T>(half_to_float(static_cast<std::uint16_t>(b[0] | b[1] << 8)));
        }
        return out;
    }
    dispatch_element_type(h.dtype, [&](auto tag) {
        using S = decltype(tag);
        if constexpr (std::is_same_v<S, T>) {
            if (count) std::memcpy(out.data.data(), src, count * sizeof(T));
            if (h.big_endian)
                for (auto& v : out.data) {
                    auto* p = reinterpret_cast<unsigned char*>(&v);
                    std::reverse(p, p + sizeof(T));
                }
        } else {
            for (std::size_t n = 0; n < count; ++n) {
                S v;
                std::memcpy(&v, src + n * sizeof(S), sizeof(S));
                if (h.big_endian) {
                    auto* p = reinterpret_cast<unsigned char*>(&v);
                    std::reverse(p, p + sizeof(S));
                }
                out.data[n] = static_cast<T>(v);
            }
        }
    });
    return out;
}

template <class T> NpyArray<T> read_npy(const std::string& path, std::uint64_t max_bytes) {
    // Check the header and the size it promises before reading a possibly huge file.
    const NpyHeader h = parse_npy_header(read_file_prefix(path, std::size_t{1} << 20), path);
    const std::uint64_t need = npy_data_bytes(h, sizeof(T), path, max_bytes);
    const std::uint64_t size = file_size(path);
    if (size < h.data_offset + need)
        fail(path, "npy data truncated: shape needs " + std::to_string(need) + " bytes, file holds " +
                       std::to_string(size - std::min<std::uint64_t>(size, h.data_offset)));
    return parse_npy<T>(read_file(path), path, max_bytes);
}

template <class T>
void write_npy(const std::string& path, const std::vector<std::int64_t>& shape, const std::vector<T>& data) {
    std::uint64_t count = 1;
    for (auto d : shape) {
        if (d < 0) fail(path, "npy shape has a negative dimension");
        count *= static_cast<std::uint64_t>(d);
    }
    if (count != data.size())
        fail(path, "npy shape holds " + std::to_string(count) + " elements but the data has " + std::to_string(data.size()));
    const std::string header = format_npy_header(element_type_of<T>, shape);
    write_file_atomically(path, [&](std::FILE* f) {
        write_all(f, header.data(), header.size(), path);
        write_all(f, data.data(), data.size() * sizeof(T), path);
    });
}

#define NODULECAD_INSTANTIATE(T)                                                                        \
    template NpyArray<T> parse_npy<T>(std::string_view, const std::string&, std::uint64_t);            \
    template NpyArray<T> read_npy<T>(const std::string&, std::uint64_t);                               \
    template void write_npy<T>(const std::string&, const std::vector<std::int64_t>&, const std::vector<T>&);
NODULECAD_FOR_EACH_ELEMENT_TYPE(NODULECAD_INSTANTIATE)
#undef NODULECAD_INSTANTIATE

}  // namespace nodulecad
