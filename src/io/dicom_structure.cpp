#include "nodulecad/io/dicom_structure.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <string_view>

#include "nodulecad/core/error.hpp"
#include "nodulecad/core/files.hpp"
#include "nodulecad/io/text_numbers.hpp"

namespace nodulecad {

namespace {

constexpr std::uint32_t kUndefined = 0xffffffffu;
constexpr int kMaxDepth = 32;

std::string tag_name(std::uint16_t g, std::uint16_t e) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "(%04x,%04x)", g, e);
    return buf;
}

// Why the walk stopped: the first problem found.
struct Broken {
    std::string why;
};

// Elements ascend by tag, each once (PS3.5 section 7.1), in the file meta group and at every depth of the data set.
// `previous`: the last tag seen there, (group << 16) | element, -1 before the first; updated.
void check_ascending(const char* what, std::uint16_t g, std::uint16_t el, std::uint64_t pos, std::int64_t& previous) {
    const std::int64_t tag_number = (std::int64_t{g} << 16) | el;
    if (tag_number <= previous)
        throw Broken{std::string(what) + " " + tag_name(g, el) + " at byte " + std::to_string(pos) + " comes after " +
                     tag_name(static_cast<std::uint16_t>(previous >> 16), static_cast<std::uint16_t>(previous & 0xffff)) +
                     ": data elements must ascend by tag, each once"};
    previous = tag_number;
}
struct NotDicom {};

// A string value without the trailing spaces or NULs that pad it to an even length.
std::string_view without_padding(std::string_view v) {
    while (!v.empty() && (v.back() == '\0' || v.back() == ' ')) v.remove_suffix(1);
    return v;
}

// The VRs the standard gives the elements GDCM reads through its typed attributes while scanning a series and
// decoding an image: a file giving one of them another VR (UN aside) makes Debian's GDCM (assertions on) abort
// (`Attribute::SetFromDataElement`: HighBit as something else than US, found by fuzzing). Refused instead.
struct StandardVr {
    std::uint16_t group, element;
    const char* vrs;  // allowed, separated by '|'
};
constexpr StandardVr kStandardVrs[] = {
    {0x0008, 0x0016, "UI"},    {0x0008, 0x0018, "UI"},    {0x0008, 0x0060, "CS"},    {0x0018, 0x0050, "DS"},
    {0x0018, 0x0088, "DS"},    {0x0018, 0x1164, "DS"},    {0x0020, 0x000d, "UI"},    {0x0020, 0x000e, "UI"},
    {0x0020, 0x0013, "IS"},    {0x0020, 0x0032, "DS"},    {0x0020, 0x0037, "DS"},    {0x0028, 0x0002, "US"},
    {0x0028, 0x0004, "CS"},    {0x0028, 0x0006, "US"},    {0x0028, 0x0008, "IS"},    {0x0028, 0x0009, "AT"},
    {0x0028, 0x0010, "US"},    {0x0028, 0x0011, "US"},    {0x0028, 0x0030, "DS"},    {0x0028, 0x0034, "IS"},
    {0x0028, 0x0100, "US"},    {0x0028, 0x0101, "US"},    {0x0028, 0x0102, "US"},    {0x0028, 0x0103, "US"},
    {0x0028, 0x0106, "US|SS"}, {0x0028, 0x0107, "US|SS"}, {0x0028, 0x0120, "US|SS"}, {0x0028, 0x1050, "DS"},
    {0x0028, 0x1051, "DS"},    {0x0028, 0x1052, "DS"},    {0x0028, 0x1053, "DS"},    {0x0028, 0x1054, "LO"},
    {0x0028, 0x2110, "CS"},    {0x7fe0, 0x0010, "OB|OW"},
};

void check_standard_vr(std::uint16_t g, std::uint16_t el, const std::string& vr, std::uint64_t pos) {
    if (vr == "UN") return;
    for (const StandardVr& s : kStandardVrs) {
        if (s.group != g || s.element != el) continue;
        const std::string_view allowed = s.vrs;  // two letters each, '|' between
        for (std::size_t at = 0; at < allowed.size(); at += 3)
            if (allowed.substr(at, 2) == vr) return;
        throw Broken{"element " + tag_name(g, el) + " at byte " + std::to_string(pos) + " has VR " + vr + ", the standard's is " + std::string(allowed)};
    }
}

class Walker {
public:
    Walker(const ByteReader& read, std::uint64_t size) : read_(read), size_(size) {}

    void walk() {
        std::uint64_t pos = 0;
        const std::string_view magic = read_(128, 4);
        if (magic == "DICM") {
            pos = meta_group(132);
            // GDCM asserts when nothing follows the file meta group, whatever the transfer syntax (a deflated one too:
            // found by fuzzing).
            if (pos >= size_) throw Broken{"no data set after the file meta information (truncated?)"};
            if (deflated_) {
                inflated_data_set(pos);
                return;
            }
        } else if (!dicom_magic(read_(0, 132))) {
            throw NotDicom{};
        }
        data_set(pos, size_, 0, false);
    }

private:
    // Group 0002, always explicit little endian; sets the data set's encoding from its transfer syntax.
    std::uint64_t meta_group(std::uint64_t pos) {
        // A group length (0002,0000) shorter than the elements is tolerated (writers leave it stale; GDCM copes); one
        // reaching past them is not (GDCM asserts when it reaches past the file).
        const std::uint64_t start = pos;
        std::uint64_t declared_end = 0;
        std::int64_t previous = -1;
        while (pos + 8 <= size_) {
            const std::string_view h = bytes(pos, 8, "file meta element");
            if (u16(h, 0, false) != 0x0002) break;
            const Header e = explicit_header(pos, false);
            // Ascending, each once, as in the data set: GDCM keeps the first of two transfer syntaxes where this walk
            // would take the last, and then parses another file than the one checked (a 3.3-GB allocation in its
            // scanner: found by fuzzing).
            check_ascending("file meta element", e.group, e.element, pos, previous);
            if (e.length == kUndefined) throw Broken{"file meta element " + tag_name(e.group, e.element) + " has an undefined length"};
            // No sequence belongs in the file meta group (GDCM asserts on one: found by fuzzing).
            if (e.sequence) throw Broken{"file meta element " + tag_name(e.group, e.element) + " is a sequence"};
            need(pos, e);
            if (e.element == 0x0000 && e.length == 4) declared_end = pos + e.header + 4 + u32(bytes(pos + e.header, 4, "group length"), 0, false);
            if (e.element == 0x0010) transfer_syntax(read_(pos + e.header, std::min<std::uint32_t>(e.length, 64)));
            pos += e.header + e.length;
        }
        if (pos == start) throw Broken{"no file meta information after the DICM preamble"};
        if (declared_end > pos)
            throw Broken{"the file meta group length says it ends at byte " + std::to_string(declared_end) + ", its elements end at " + std::to_string(pos) +
                         (declared_end > size_ ? " (truncated?)" : "")};
        return pos;
    }

    // A deflated transfer syntax (PS3.5 A.5: raw deflate, RFC 1951) hides the data set from the walk until inflated,
    // and GDCM parses what it inflates with the same asserts: so it is inflated here, whole, and walked as explicit
    // VR little endian. A stream that is corrupt or ends early is refused; bytes after its end are ignored, as GDCM
    // ignores them.
    void inflated_data_set(std::uint64_t pos) {
        const std::string data = inflate(pos);
        if (data.empty()) throw Broken{"the deflated data set inflates to nothing"};
        const ByteReader read = [&](std::uint64_t offset, std::size_t n) {
            return offset >= data.size() ? std::string_view() : std::string_view(data).substr(static_cast<std::size_t>(offset), n);
        };
        Walker inner(read, data.size());
        inner.implicit_ = false;
        inner.explicit_le_ = true;
        inner.deflated_ = true;  // its pixels are not in the file's bytes
        try {
            inner.data_set(0, data.size(), 0, false);
        } catch (const Broken& b) {
            throw Broken{"in the inflated data set: " + b.why};
        }
        layout = inner.layout;
    }

    // Larger than any CT image a deflated file would hold (a 512 x 512 slice is half a megabyte); the bound keeps a
    // few kilobytes of hostile input from inflating to gigabytes.
    static constexpr std::size_t kMaxInflated = std::size_t{1} << 30;

    std::string inflate(std::uint64_t pos) {
        struct Stream {
            z_stream z{};
            bool open = false;
            ~Stream() {
                if (open) inflateEnd(&z);
            }
        } s;
        if (inflateInit2(&s.z, -MAX_WBITS) != Z_OK) throw Broken{"cannot initialise zlib to inflate the data set"};
        s.open = true;
        const std::uint64_t start = pos;
        std::string out;
        std::string_view in;
        int rc = Z_OK;
        while (rc != Z_STREAM_END) {
            if (s.z.avail_in == 0) {
                if (pos >= size_) throw Broken{"the deflated data set ends before its deflate stream does (truncated?)"};
                in = read_(pos, static_cast<std::size_t>(std::min<std::uint64_t>(size_ - pos, 1 << 16)));
                if (in.empty()) throw Broken{"the deflated data set cannot be read at byte " + std::to_string(pos)};
                pos += in.size();
                s.z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
                s.z.avail_in = static_cast<uInt>(in.size());
            }
            const std::size_t had = out.size();
            if (had >= kMaxInflated) throw Broken{"the deflated data set inflates to more than " + std::to_string(kMaxInflated >> 20) + " MiB"};
            out.resize(had + (1 << 16));
            s.z.next_out = reinterpret_cast<Bytef*>(out.data() + had);
            s.z.avail_out = 1 << 16;
            rc = ::inflate(&s.z, Z_NO_FLUSH);
            out.resize(had + (1 << 16) - s.z.avail_out);
            if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
                throw Broken{"the deflated data set is corrupt after " + std::to_string(pos - s.z.avail_in - start) + " of its bytes (zlib: " +
                             (s.z.msg ? s.z.msg : "error " + std::to_string(rc)) + ")"};
        }
        return out;
    }

    void transfer_syntax(std::string_view v) {
        v = without_padding(v);
        implicit_ = v == "1.2.840.10008.1.2";
        explicit_le_ = v == "1.2.840.10008.1.2.1";
        big_ = v == "1.2.840.10008.1.2.2";
        deflated_ = v == "1.2.840.10008.1.2.1.99";
    }

    struct Header {
        std::uint16_t group = 0, element = 0;
        std::uint32_t length = 0;
        std::uint32_t header = 8;
        bool sequence = false;  // SQ (or, implicit, an undefined length)
    };

    Header explicit_header(std::uint64_t pos, bool big) {
        const std::string_view h = bytes(pos, 8, "element header");
        Header e{u16(h, 0, big), u16(h, 2, big), 0, 8, false};
        const std::string vr{h[4], h[5]};
        // Only the VRs DICOM defines: GDCM reads an unknown one with a 4-byte length taken from the value's bytes
        // and allocates whatever that says (gigabytes, found by fuzzing).
        static const char* known[] = {"AE", "AS", "AT", "CS", "DA", "DS", "DT", "FD", "FL", "IS", "LO", "LT", "OB", "OD", "OF", "OL", "OV",
                                      "OW", "PN", "SH", "SL", "SQ", "SS", "ST", "SV", "TM", "UC", "UI", "UL", "UN", "UR", "US", "UT", "UV"};
        bool valid = false;
        for (const char* k : known) valid = valid || vr == k;
        if (!valid) throw Broken{"element " + tag_name(e.group, e.element) + " at byte " + std::to_string(pos) + " has no valid VR"};
        check_standard_vr(e.group, e.element, vr, pos);
        static const char* long_vrs[] = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"};
        bool long_form = false;
        for (const char* l : long_vrs) long_form = long_form || vr == l;
        if (long_form) {
            e.length = u32(bytes(pos, 12, "element header"), 8, big);
            e.header = 12;
        } else {
            e.length = u16(h, 6, big);
        }
        e.sequence = vr == "SQ" || (vr == "UN" && e.length == kUndefined);
        return e;
    }

    Header element_header(std::uint64_t pos) {
        if (!implicit_) return explicit_header(pos, big_);
        const std::string_view h = bytes(pos, 8, "element header");
        Header e{u16(h, 0, false), u16(h, 2, false), u32(h, 4, false), 8, false};
        e.sequence = e.length == kUndefined;
        return e;
    }

    // Elements from pos to end; in an item of undefined length, up to its delimiter (returns just past it).
    std::uint64_t data_set(std::uint64_t pos, std::uint64_t end, int depth, bool until_delimiter) {
        if (depth > kMaxDepth) throw Broken{"sequences nested deeper than " + std::to_string(kMaxDepth) + " levels"};
        std::int64_t previous = -1;
        while (pos < end) {
            const std::string_view t = bytes(pos, 4, "element tag");
            const std::uint16_t g = u16(t, 0, big_ && !implicit_), el = u16(t, 2, big_ && !implicit_);
            if (g == 0xfffe) {
                if (el == 0xe00d && until_delimiter) return pos + 8;
                throw Broken{"unexpected delimiter " + tag_name(g, el) + " at byte " + std::to_string(pos)};
            }
            // Elements ascend by tag, each once (PS3.5 section 7.1). GDCM keeps one of two equal tags and sorts the
            // rest, so a file breaking the rule is read differently by it than by this walk (and Debian's GDCM
            // aborted on such a file: found by fuzzing). Refused.
            check_ascending("element", g, el, pos, previous);
            const Header e = element_header(pos);
            if (e.length == kUndefined) {
                if (g == 0x7fe0 && el == 0x0010) pos = fragments(pos + e.header);
                else if (e.sequence || implicit_) pos = items(pos + e.header, 0, depth, true);
                else throw Broken{"element " + tag_name(g, el) + " at byte " + std::to_string(pos) + " has an undefined length but is no sequence"};
                continue;
            }
            need(pos, e);
            if (e.sequence) items(pos + e.header, pos + e.header + e.length, depth, false);
            if (depth == 0) note_layout(g, el, pos + e.header, e.length);
            pos += e.header + e.length;
        }
        if (until_delimiter) throw Broken{"an item of undefined length is never closed: the file ends first (truncated?)"};
        if (pos != end) throw Broken{"an element runs past the end of its item at byte " + std::to_string(end)};
        return pos;
    }

    // Items of a sequence: up to `end`, or (undefined length) up to the sequence delimiter.
    std::uint64_t items(std::uint64_t pos, std::uint64_t end, int depth, bool undefined) {
        while (undefined || pos < end) {
            const std::string_view h = bytes(pos, 8, "sequence item");
            const bool big = big_ && !implicit_;
            const std::uint16_t g = u16(h, 0, big), el = u16(h, 2, big);
            const std::uint32_t len = u32(h, 4, big);
            if (g == 0xfffe && el == 0xe0dd && undefined) return pos + 8;
            if (g != 0xfffe || el != 0xe000) throw Broken{"expected a sequence item at byte " + std::to_string(pos) + ", found " + tag_name(g, el)};
            if (len == kUndefined) {
                pos = data_set(pos + 8, size_, depth + 1, true);
            } else {
                if (pos + 8 + len > (undefined ? size_ : end)) throw Broken{"sequence item at byte " + std::to_string(pos) + " runs past its end"};
                data_set(pos + 8, pos + 8 + len, depth + 1, false);
                pos += 8 + len;
            }
        }
        if (pos != end) throw Broken{"a sequence's items run past its end at byte " + std::to_string(end)};
        return pos;
    }

    // Encapsulated pixel data: an offset table and fragments, each an item of defined length, then the delimiter.
    std::uint64_t fragments(std::uint64_t pos) {
        while (true) {
            const std::string_view h = bytes(pos, 8, "pixel data fragment");
            const std::uint16_t g = u16(h, 0, false), el = u16(h, 2, false);
            const std::uint32_t len = u32(h, 4, false);
            if (g == 0xfffe && el == 0xe0dd) return pos + 8;
            if (g != 0xfffe || el != 0xe000 || len == kUndefined)
                throw Broken{"expected a pixel data fragment at byte " + std::to_string(pos) + ", found " + tag_name(g, el)};
            if (pos + 8 + len > size_) throw Broken{"pixel data fragment at byte " + std::to_string(pos) + " needs " + std::to_string(len) + " bytes, the file ends first"};
            pos += 8 + len;
        }
    }

    // Recognition Code (0008,0010), retired since ACR-NEMA: GDCM's image reader takes a file holding one for an ACR-NEMA
    // hybrid and asserts that it says so (found by fuzzing). Any other non-empty value is refused.
    void recognition_code(std::uint64_t value, std::uint32_t length) {
        if (length == 0) return;
        const std::string_view v = bytes(value, std::min<std::uint32_t>(length, 64), "recognition code");
        for (const std::string_view known : {std::string_view("ACR-NEMA"), std::string_view("ACRNEMA"), std::string_view("MIPS 2.0")})
            if (v.substr(0, known.size()) == known) return;
        throw Broken{"element (0008,0010), the retired ACR-NEMA Recognition Code, holds '" + printable(v.substr(0, 16)) + "' (its value at byte " +
                     std::to_string(value) + "): only an ACR-NEMA one belongs there"};
    }

    // The pixel module's numbers (US, two bytes) and where the native pixel data is.
    void note_layout(std::uint16_t g, std::uint16_t el, std::uint64_t value, std::uint32_t length) {
        if (g == 0x0008 && el == 0x0010) {
            recognition_code(value, length);
            return;
        }
        if (g == 0x7fe0 && el == 0x0010) {
            layout.native_little_endian = !big_ && !deflated_ && (implicit_ || explicit_le_);
            layout.offset = value;
            layout.length = length;
            return;
        }
        if (g != 0x0028) return;
        if (el == 0x0004) {
            layout.photometric = std::string(without_padding(bytes(value, std::min<std::uint32_t>(length, 64), "photometric interpretation")));
            return;
        }
        const bool counted = el == 0x0002 || el == 0x0010 || el == 0x0011 || el == 0x0100 || el == 0x0101 || el == 0x0103;
        if (!counted) return;
        // One unsigned short each (US, VM 1): any other length is a broken file, refused before GDCM reads it.
        if (length != 2)
            throw Broken{"element " + tag_name(g, el) + " at byte " + std::to_string(value) + " holds " + std::to_string(length) +
                         " bytes, not the 2 of one unsigned short"};
        const int v = u16(bytes(value, 2, "pixel module value"), 0, big_ && !implicit_);
        switch (el) {
            case 0x0002: layout.samples = v; break;
            case 0x0010: layout.rows = v; break;
            case 0x0011: layout.columns = v; break;
            case 0x0100: layout.bits_allocated = v; break;
            case 0x0101: layout.bits_stored = v; break;
            case 0x0103: layout.pixel_representation = v; break;
            default: break;
        }
    }

public:
    DicomPixelLayout layout;

private:
    void need(std::uint64_t pos, const Header& e) const {
        if (pos + e.header + e.length > size_)
            throw Broken{"element " + tag_name(e.group, e.element) + " at byte " + std::to_string(pos) + " needs " + std::to_string(e.length) +
                         " bytes, the file ends after " + std::to_string(size_ - std::min(size_, pos + e.header)) + " (truncated?)"};
    }

    std::string_view bytes(std::uint64_t pos, std::size_t n, const char* what) const {
        const std::string_view v = pos + n <= size_ ? read_(pos, n) : std::string_view();
        if (v.size() < n) throw Broken{std::string("the file ends inside a ") + what + " at byte " + std::to_string(pos) + " (truncated?)"};
        return v;
    }

    static std::uint16_t u16(std::string_view b, std::size_t at, bool big) {
        const auto x = static_cast<unsigned char>(b[at]), y = static_cast<unsigned char>(b[at + 1]);
        return static_cast<std::uint16_t>(big ? (x << 8) | y : (y << 8) | x);
    }
    static std::uint32_t u32(std::string_view b, std::size_t at, bool big) {
        std::uint32_t v = 0;
        for (std::size_t i = 0; i < 4; ++i) {
            const auto byte = static_cast<unsigned char>(b[at + (big ? i : 3 - i)]);
            v = (v << 8) | byte;
        }
        return v;
    }

    const ByteReader& read_;
    std::uint64_t size_;
    bool implicit_ = true, explicit_le_ = false, big_ = false, deflated_ = false;
};

}  // namespace

bool dicom_magic(std::string_view head) {
    if (head.size() >= 132 && head.substr(128, 4) == "DICM") return true;
    return head.size() >= 8 && head.substr(0, 2) == std::string_view("\x08\0", 2);
}

DicomCheck check_dicom_structure(const ByteReader& read, std::uint64_t size) {
    Walker w(read, size);
    try {
        w.walk();
        return {true, "", w.layout};
    } catch (const Broken& b) {
        return {true, b.why, {}};
    } catch (const NotDicom&) {
        return {false, "not DICOM: no DICM preamble, and the first element is not of group 0008", {}};
    }
}

std::string dicom_bytes_problem(std::string_view bytes) {
    const ByteReader read = [&](std::uint64_t offset, std::size_t n) {
        return offset >= bytes.size() ? std::string_view() : bytes.substr(static_cast<std::size_t>(offset), n);
    };
    return check_dicom_structure(read, bytes.size()).problem;
}

DicomCheck check_dicom_file(const std::string& path) {
    const std::uint64_t size = file_size(path);
    struct Fd {
        int fd;
        ~Fd() {
            if (fd >= 0) ::close(fd);
        }
    } f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (f.fd < 0) fail(path, "cannot open the file");
    std::string window;
    std::uint64_t window_start = 0;
    // Headers are read a 16 KiB window at a time; values (the pixel data above all) are skipped, never read.
    const ByteReader read = [&](std::uint64_t offset, std::size_t n) -> std::string_view {
        if (offset < window_start || offset + n > window_start + window.size()) {
            window.assign(std::max<std::size_t>(n, 1 << 14), '\0');
            const ssize_t got = ::pread(f.fd, window.data(), window.size(), static_cast<off_t>(offset));
            window.resize(got > 0 ? static_cast<std::size_t>(got) : 0);
            window_start = offset;
        }
        const std::size_t at = static_cast<std::size_t>(offset - window_start);
        return at >= window.size() ? std::string_view() : std::string_view(window).substr(at, n);
    };
    return check_dicom_structure(read, size);
}

}  // namespace nodulecad
