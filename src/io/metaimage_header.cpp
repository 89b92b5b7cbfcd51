#include "nodulecad/io/metaimage_header.hpp"

#include <cmath>
#include <map>
#include <vector>

#include "nodulecad/core/error.hpp"
#include "nodulecad/io/text_numbers.hpp"

namespace nodulecad {

bool MetaImageHeader::local() const { return iequals(data_file, "LOCAL"); }

namespace {

struct Field {
    std::string value;
    long line = 0;
};

class HeaderParser {
public:
    HeaderParser(std::string_view bytes, const std::string& source) : bytes_(bytes), source_(source) {}

    MetaImageHeader run() {
        if (trim(bytes_).empty()) fail(source_, "empty file, not a MetaImage header");
        read_fields();
        return build();
    }

private:
    std::string_view bytes_;
    const std::string& source_;
    std::map<std::string, Field> fields_;  // lower-case key -> value
    std::size_t end_ = 0;

    [[noreturn]] void error(const std::string& msg, long line = 0) const { fail(source_, msg, line); }

    void read_fields() {
        std::size_t pos = 0;
        long line = 0;
        while (pos < bytes_.size()) {
            ++line;
            std::size_t eol = bytes_.find('\n', pos);
            const std::size_t next = eol == std::string_view::npos ? bytes_.size() : eol + 1;
            const std::string_view raw = bytes_.substr(pos, (eol == std::string_view::npos ? bytes_.size() : eol) - pos);
            pos = next;
            for (char c : raw)
                if (c == '\0' || (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\r'))
                    error("binary data where a header line was expected: not a MetaImage header", line);
            const std::string_view text = trim(raw);
            if (text.empty()) continue;
            const std::size_t eq = text.find('=');
            if (eq == std::string_view::npos) error("expected 'Key = Value', got '" + printable(text.substr(0, 60)) + "'", line);
            const std::string key = to_lower(trim(text.substr(0, eq)));
            if (key.empty()) error("missing key before '='", line);
            fields_[key] = Field{std::string(trim(text.substr(eq + 1))), line};
            if (key == "elementdatafile") {
                end_ = next;
                return;
            }
        }
        error("no ElementDataFile line: header incomplete or not a MetaImage file", line);
    }

    const Field* find(std::initializer_list<const char*> keys) const {
        for (const char* k : keys) {
            auto it = fields_.find(k);
            if (it != fields_.end()) return &it->second;
        }
        return nullptr;
    }

    const Field& require(const char* key, const char* display) const {
        const Field* f = find({key});
        if (!f) error(std::string("missing required key ") + display);
        return *f;
    }

    bool boolean(const Field& f, const char* display) const {
        const std::string v = to_lower(f.value);
        if (v == "true" || v == "t" || v == "1") return true;
        if (v == "false" || v == "f" || v == "0") return false;
        error(std::string(display) + " must be True or False, got '" + f.value + "'", f.line);
    }

    std::vector<double> numbers(const Field& f, const char* display, std::size_t count) const {
        const auto tokens = split_whitespace(f.value);
        if (tokens.size() != count)
            error(std::string(display) + " has " + std::to_string(tokens.size()) + " values, expected " +
                      std::to_string(count) + " for NDims = " + std::to_string(ndims_),
                  f.line);
        std::vector<double> out;
        for (auto t : tokens) {
            auto v = parse_double(t);
            if (!v) error(std::string(display) + ": '" + std::string(t) + "' is not a number", f.line);
            if (!std::isfinite(*v)) error(std::string(display) + ": value '" + std::string(t) + "' is not finite", f.line);
            out.push_back(*v);
        }
        return out;
    }

    int ndims_ = 3;

    // The header, field group by field group (each checks its own fields and names the line of a bad one).
    MetaImageHeader build() {
        MetaImageHeader h;
        h.header_bytes = end_;
        read_kind(h);
        read_size(h);
        read_placement(h);
        read_storage(h);
        read_data_file(h);
        return h;
    }

    // ObjectType, NDims, one channel, binary data.
    void read_kind(MetaImageHeader& h) {
        if (const Field* f = find({"objecttype"}); f && !iequals(f->value, "Image"))
            error("ObjectType is '" + f->value + "', only Image is supported", f->line);
        const Field& nd = require("ndims", "NDims");
        const auto n = parse_int(nd.value);
        if (!n) error("NDims: '" + nd.value + "' is not an integer", nd.line);
        if (*n != 2 && *n != 3) error("NDims is " + nd.value + ", only 2 and 3 are supported", nd.line);
        ndims_ = h.ndims = static_cast<int>(*n);
        if (const Field* f = find({"elementnumberofchannels"})) {
            const auto c = parse_int(f->value);
            if (!c || *c < 1) error("ElementNumberOfChannels: '" + f->value + "' is not a positive integer", f->line);
            if (*c != 1)
                error("multi-channel data (ElementNumberOfChannels = " + f->value + ") is not supported", f->line);
        }
        if (const Field* f = find({"binarydata"}); f && !boolean(*f, "BinaryData"))
            error("ASCII data (BinaryData = False) is not supported", f->line);
    }

    // DimSize.
    void read_size(MetaImageHeader& h) {
        const auto nd_u = static_cast<std::size_t>(ndims_);
        const Field& ds = require("dimsize", "DimSize");
        const auto ds_tokens = split_whitespace(ds.value);
        if (ds_tokens.size() != nd_u)
            error("DimSize has " + std::to_string(ds_tokens.size()) + " values but NDims is " + std::to_string(ndims_),
                  ds.line);
        for (std::size_t a = 0; a < nd_u; ++a) {
            const auto v = parse_int(ds_tokens[a]);
            if (!v) error("DimSize: '" + std::string(ds_tokens[a]) + "' is not an integer", ds.line);
            if (*v <= 0) error("DimSize: " + std::string(ds_tokens[a]) + " is not positive", ds.line);
            h.geometry.size[a] = *v;
        }
    }

    // Spacing, origin and direction: where the voxels are in world mm.
    void read_placement(MetaImageHeader& h) {
        const auto nd_u = static_cast<std::size_t>(ndims_);
        if (const Field* f = find({"elementspacing", "elementsize"})) {
            const char* name = fields_.count("elementspacing") ? "ElementSpacing" : "ElementSize";
            const auto v = numbers(*f, name, nd_u);
            for (std::size_t a = 0; a < nd_u; ++a) {
                if (!(v[a] > 0)) error(std::string(name) + ": spacing " + format_double(v[a]) + " is not positive", f->line);
                h.geometry.spacing[a] = v[a];
            }
        }
        if (const Field* f = find({"offset", "origin", "position"})) {
            const auto v = numbers(*f, "Offset", nd_u);
            for (std::size_t a = 0; a < nd_u; ++a) h.geometry.origin[a] = v[a];
        }
        // Direction: listed axis by axis = columns of D.
        if (const Field* f = find({"transformmatrix", "rotation", "orientation"})) {
            const auto v = numbers(*f, "TransformMatrix", nd_u * nd_u);
            Mat3 d = identity3();
            for (std::size_t col = 0; col < nd_u; ++col)
                for (std::size_t row = 0; row < nd_u; ++row) d[3 * row + col] = v[col * nd_u + row];
            const double det = determinant(d);
            if (!(std::fabs(det) > 1e-9)) error("TransformMatrix is singular (determinant " + format_double(det) + ")", f->line);
            h.geometry.direction = d;
        }
    }

    // Voxel type, byte order, compression, header size.
    void read_storage(MetaImageHeader& h) {
        const Field& et = require("elementtype", "ElementType");
        std::string upper = et.value;
        for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        const auto type = element_type_from_metaimage_name(upper);
        if (!type)
            error("ElementType '" + et.value +
                      "' is not supported (MET_CHAR, MET_UCHAR, MET_SHORT, MET_USHORT, MET_INT, MET_UINT, MET_FLOAT, "
                      "MET_DOUBLE)",
                  et.line);
        h.element_type = *type;
        if (const Field* f = find({"binarydatabyteordermsb", "elementbyteordermsb"}))
            h.msb = boolean(*f, "BinaryDataByteOrderMSB");
        if (const Field* f = find({"compresseddata"})) h.compressed = boolean(*f, "CompressedData");
        if (const Field* f = find({"compresseddatasize"}); f && h.compressed) {
            const auto v = parse_int(f->value);
            if (!v || *v <= 0) error("CompressedDataSize: '" + f->value + "' is not a positive integer", f->line);
            h.compressed_size = static_cast<std::uint64_t>(*v);
        }
        if (const Field* f = find({"headersize"})) {
            const auto v = parse_int(f->value);
            if (!v || *v < -1) error("HeaderSize: '" + f->value + "' must be -1 or a byte count >= 0", f->line);
            h.header_size = *v;
            if (h.compressed && *v == -1)
                error("HeaderSize = -1 cannot locate compressed data (its size is unknown)", f->line);
        }
    }

    // ElementDataFile: one file (or LOCAL), never a list or pattern.
    void read_data_file(MetaImageHeader& h) {
        const Field& df = fields_.at("elementdatafile");
        if (df.value.empty()) error("ElementDataFile is empty", df.line);
        const auto df_tokens = split_whitespace(df.value);
        if (iequals(df_tokens.front(), "LIST") || df.value.find('%') != std::string::npos)
            error("ElementDataFile '" + df.value + "': multi-file (LIST / pattern) data is not supported", df.line);
        h.data_file = df.value;
    }
};

}  // namespace

MetaImageHeader parse_metaimage_header(std::string_view bytes, const std::string& source) {
    return HeaderParser(bytes, source).run();
}

std::string anatomical_orientation(const Mat3& d) {
    // Letter for each index axis: where the axis points FROM (ITK/MetaIO: +x is R->L so 'R', +y 'A', +z 'I').
    static const char pos[3] = {'R', 'A', 'I'};
    static const char neg[3] = {'L', 'P', 'S'};
    std::string out;
    for (int col = 0; col < 3; ++col) {
        int best = 0;
        for (int row = 1; row < 3; ++row)
            if (std::fabs(d[3 * row + col]) > std::fabs(d[3 * best + col])) best = row;
        out += d[3 * best + col] >= 0 ? pos[best] : neg[best];
    }
    return out;
}

std::string format_metaimage_header(const MetaImageHeader& h) {
    const int n = h.ndims;
    const auto list = [n](const Vec3& v) {
        std::string s;
        for (int a = 0; a < n; ++a) {
            if (a) s += ' ';
            s += format_double(v[static_cast<std::size_t>(a)]);
        }
        return s;
    };
    std::string tm;
    for (int col = 0; col < n; ++col)
        for (int row = 0; row < n; ++row) {
            if (!tm.empty()) tm += ' ';
            tm += format_double(h.geometry.direction[static_cast<std::size_t>(3 * row + col)]);
        }
    std::string size;
    for (int a = 0; a < n; ++a) {
        if (a) size += ' ';
        size += std::to_string(h.geometry.size[static_cast<std::size_t>(a)]);
    }

    std::string out;
    out += "ObjectType = Image\n";
    out += "NDims = " + std::to_string(n) + "\n";
    out += "BinaryData = True\n";
    out += std::string("BinaryDataByteOrderMSB = ") + (h.msb ? "True" : "False") + "\n";
    out += std::string("CompressedData = ") + (h.compressed ? "True" : "False") + "\n";
    if (h.compressed && h.compressed_size) out += "CompressedDataSize = " + std::to_string(*h.compressed_size) + "\n";
    out += "TransformMatrix = " + tm + "\n";
    out += "Offset = " + list(h.geometry.origin) + "\n";
    out += "CenterOfRotation = " + std::string(n == 3 ? "0 0 0" : "0 0") + "\n";
    if (n == 3) out += "AnatomicalOrientation = " + anatomical_orientation(h.geometry.direction) + "\n";
    out += "ElementSpacing = " + list(h.geometry.spacing) + "\n";
    out += "DimSize = " + size + "\n";
    if (h.header_size != 0) out += "HeaderSize = " + std::to_string(h.header_size) + "\n";
    out += "ElementType = " + std::string(metaimage_name(h.element_type)) + "\n";
    out += "ElementDataFile = " + h.data_file + "\n";
    return out;
}

}  // namespace nodulecad
