// The structural walk that guards GDCM: sound files pass, every kind of broken structure is named with its byte.
#include <gtest/gtest.h>

#include <algorithm>
#include <iterator>
#include <string>
#include <string_view>

#include <zlib.h>

#include "nodulecad/io/dicom_structure.hpp"

namespace nodulecad {
namespace {

std::string le16(unsigned v) { return {static_cast<char>(v & 0xff), static_cast<char>(v >> 8)}; }
std::string le32(std::uint32_t v) { return le16(v & 0xffff) + le16(v >> 16); }
std::string tag(unsigned g, unsigned e) { return le16(g) + le16(e); }
// Explicit VR little endian elements.
std::string short_el(unsigned g, unsigned e, const char* vr, const std::string& value) { return tag(g, e) + vr + le16(static_cast<unsigned>(value.size())) + value; }
std::string long_el(unsigned g, unsigned e, const char* vr, const std::string& value, std::uint32_t length) { return tag(g, e) + vr + std::string(2, '\0') + le32(length) + value; }
std::string item(const std::string& body) { return tag(0xfffe, 0xe000) + le32(static_cast<std::uint32_t>(body.size())) + body; }
std::string item_undefined(const std::string& body) { return tag(0xfffe, 0xe000) + le32(0xffffffffu) + body + tag(0xfffe, 0xe00d) + le32(0); }
const std::string kSeqEnd = tag(0xfffe, 0xe0dd) + le32(0);

// Preamble, DICM, a file meta group naming the transfer syntax, then `data`.
std::string file(const std::string& syntax, const std::string& data) {
    const std::string ts = syntax.size() % 2 ? syntax + '\0' : syntax;
    const std::string meta = short_el(0x0002, 0x0010, "UI", ts);
    return std::string(128, '\0') + "DICM" + short_el(0x0002, 0x0000, "UL", le32(static_cast<std::uint32_t>(meta.size()))) + meta + data;
}
const std::string kExplicit = "1.2.840.10008.1.2.1", kImplicit = "1.2.840.10008.1.2", kJpeg2000 = "1.2.840.10008.1.2.4.90";

// The whole check (problem and pixel layout) of a file held in memory.
DicomCheck checked(const std::string& bytes) {
    const ByteReader read = [&](std::uint64_t offset, std::size_t n) {
        return offset >= bytes.size() ? std::string_view() : std::string_view(bytes).substr(static_cast<std::size_t>(offset), n);
    };
    return check_dicom_structure(read, bytes.size());
}

TEST(DicomStructure, SoundFilesPass) {
    const std::string ds = short_el(0x0008, 0x0060, "CS", "CT") +
                           long_el(0x0008, 0x1140, "SQ", item(short_el(0x0008, 0x1150, "UI", "1.2")) + item_undefined(short_el(0x0008, 0x1155, "UI", "3.4")) + kSeqEnd, 0xffffffffu) +
                           long_el(0x0008, 0x1250, "SQ", item(short_el(0x0008, 0x1150, "UI", "5.6 ")), 20) +
                           long_el(0x7fe0, 0x0010, "OW", std::string(8, '\1'), 8);
    EXPECT_EQ(dicom_bytes_problem(file(kExplicit, ds)), "");
    // Encapsulated pixel data: offset table, two fragments, delimiter.
    const std::string frags = item("") + item("abcd") + item("ef") + kSeqEnd;
    EXPECT_EQ(dicom_bytes_problem(file(kJpeg2000, short_el(0x0008, 0x0060, "CS", "CT") + long_el(0x7fe0, 0x0010, "OB", frags, 0xffffffffu))), "");
    // Implicit VR: tag, 32-bit length, value; an undefined length is a sequence.
    const std::string implicit = tag(0x0008, 0x0060) + le32(2) + "CT" + tag(0x0008, 0x1140) + le32(0xffffffffu) +
                                 item_undefined(tag(0x0008, 0x1150) + le32(4) + "1.2 ") + kSeqEnd;
    EXPECT_EQ(dicom_bytes_problem(file(kImplicit, implicit)), "");
    // An old file without preamble (implicit, group 0008 first).
    EXPECT_EQ(dicom_bytes_problem(implicit), "");
}

TEST(DicomStructure, BrokenStructuresAreNamed) {
    const std::string pixels = long_el(0x7fe0, 0x0010, "OW", std::string(8, '\1'), 8);
    const std::string ct = short_el(0x0008, 0x0060, "CS", "CT"), good = file(kExplicit, ct + pixels);
    // Cut anywhere inside an element: always a problem. (Cut between elements, a file is merely shorter: it has no
    // pixel data, which the reader reports.)
    const std::size_t boundaries[] = {132 + 12, file(kExplicit, "").size(), file(kExplicit, ct).size()};
    for (std::size_t cut = 1; cut < good.size(); ++cut) {
        if (std::find(std::begin(boundaries), std::end(boundaries), cut) != std::end(boundaries)) continue;
        EXPECT_NE(dicom_bytes_problem(good.substr(0, cut)), "") << cut;
    }
    EXPECT_NE(dicom_bytes_problem(good.substr(0, good.size() - 2)).find("needs 8 bytes"), std::string::npos);
    EXPECT_NE(dicom_bytes_problem(file(kExplicit, tag(0x0008, 0x0060) + "c1" + le16(2) + "CT")).find("no valid VR"), std::string::npos);
    EXPECT_NE(dicom_bytes_problem(file(kExplicit, tag(0x0008, 0x0070) + "DO" + le16(2) + "CT")).find("no valid VR"), std::string::npos);  // fuzzer: GDCM allocated GBs
    const std::string open_item = long_el(0x0008, 0x1140, "SQ", tag(0xfffe, 0xe000) + le32(0xffffffffu) + short_el(0x0008, 0x1150, "UI", "12"), 0xffffffffu);
    EXPECT_NE(dicom_bytes_problem(file(kExplicit, open_item)).find("truncated"), std::string::npos);
    const std::string no_item = long_el(0x0008, 0x1140, "SQ", short_el(0x0008, 0x1150, "UI", "12"), 8);
    EXPECT_NE(dicom_bytes_problem(file(kExplicit, no_item)).find("expected a sequence item"), std::string::npos);
    const std::string long_item = long_el(0x0008, 0x1140, "SQ", item(short_el(0x0008, 0x1150, "UI", "12")), 10);  // item is 16 bytes
    EXPECT_NE(dicom_bytes_problem(file(kExplicit, long_item)).find("runs past its end"), std::string::npos);
    const std::string bad_fragment = long_el(0x7fe0, 0x0010, "OB", item("ab") + tag(0x0008, 0x0010) + le32(2), 0xffffffffu);
    EXPECT_NE(dicom_bytes_problem(file(kJpeg2000, bad_fragment)).find("expected a pixel data fragment"), std::string::npos);
    const std::string undefined_string = tag(0x0008, 0x0060) + "CS" + le16(0) ;
    EXPECT_EQ(dicom_bytes_problem(file(kExplicit, undefined_string)), "");  // an empty value is fine
    // An element GDCM reads as a typed attribute, with a VR the standard does not give it (GDCM asserts); UN is fine.
    const std::string high_bit_ss = file(kExplicit, short_el(0x0028, 0x0102, "SS", le16(15)) + pixels);
    EXPECT_NE(dicom_bytes_problem(high_bit_ss).find(" has VR SS, the standard's is US"), std::string::npos)
        << dicom_bytes_problem(high_bit_ss);
    EXPECT_EQ(dicom_bytes_problem(file(kExplicit, short_el(0x0028, 0x0102, "US", le16(15)) + short_el(0x0028, 0x0120, "SS", le16(0)) + pixels)), "");
    EXPECT_EQ(dicom_bytes_problem(file(kExplicit, long_el(0x0028, 0x0102, "UN", le16(15), 2) + pixels)), "");
    // A Recognition Code (retired, ACR-NEMA) that is not an ACR-NEMA one: GDCM's image reader asserts (found by fuzzing).
    const std::string ours = dicom_bytes_problem(file(kExplicit, short_el(0x0008, 0x0010, "SH", "ORIGINAL") + pixels));
    EXPECT_NE(ours.find("element (0008,0010), the retired ACR-NEMA Recognition Code, holds 'ORIGINAL' (its value at byte 180)"), std::string::npos) << ours;
    EXPECT_EQ(dicom_bytes_problem(file(kExplicit, short_el(0x0008, 0x0010, "SH", "ACR-NEMA 2.0") + pixels)), "");
    EXPECT_EQ(dicom_bytes_problem(file(kExplicit, short_el(0x0008, 0x0010, "SH", "") + pixels)), "");
    // A sequence in the file meta group.
    const std::string meta_sq = std::string(128, '\0') + "DICM" + long_el(0x0002, 0x0001, "SQ", std::string(2, '\0'), 2) + short_el(0x0008, 0x0060, "CS", "CT");
    EXPECT_NE(dicom_bytes_problem(meta_sq).find("file meta element (0002,0001) is a sequence"), std::string::npos) << dicom_bytes_problem(meta_sq);
    // The same in the file meta group: two transfer syntaxes (GDCM keeps the first, then parsed a deflated data set as
    // explicit and allocated 3.3 GB: found by fuzzing), or its elements out of order.
    const std::string ts_twice = std::string(128, '\0') + "DICM" + short_el(0x0002, 0x0010, "UI", kExplicit + '\0') +
                                 short_el(0x0002, 0x0010, "UI", "1.2.840.10008.1.2.1.99") + ct;
    EXPECT_NE(dicom_bytes_problem(ts_twice).find("file meta element (0002,0010) at byte 160 comes after (0002,0010): data elements must ascend"),
              std::string::npos) << dicom_bytes_problem(ts_twice);
    const std::string meta_swapped = std::string(128, '\0') + "DICM" + short_el(0x0002, 0x0010, "UI", kExplicit + '\0') +
                                     short_el(0x0002, 0x0002, "UI", "1.2.840.10008.5.1.4.1.1.2") + ct;
    EXPECT_NE(dicom_bytes_problem(meta_swapped).find("file meta element (0002,0002) at byte 160 comes after (0002,0010)"), std::string::npos)
        << dicom_bytes_problem(meta_swapped);
    // Elements out of order, or one tag twice, at any depth (GDCM would keep one and sort: another file than ours).
    const std::string swapped = file(kExplicit, short_el(0x0028, 0x0011, "US", le16(8)) + short_el(0x0028, 0x0010, "US", le16(8)) + pixels);
    EXPECT_NE(dicom_bytes_problem(swapped).find("element (0028,0010) at byte "), std::string::npos) << dicom_bytes_problem(swapped);
    EXPECT_NE(dicom_bytes_problem(swapped).find(" comes after (0028,0011): data elements must ascend by tag, each once"),
              std::string::npos) << dicom_bytes_problem(swapped);
    const std::string twice = file(kExplicit, ct + ct + pixels);
    EXPECT_NE(dicom_bytes_problem(twice).find("comes after (0008,0060)"), std::string::npos);
    const std::string nested = long_el(0x0008, 0x1140, "SQ", item(short_el(0x0008, 0x1155, "UI", "12") + short_el(0x0008, 0x1150, "UI", "12")), 28);
    EXPECT_NE(dicom_bytes_problem(file(kExplicit, nested)).find("element (0008,1150)"), std::string::npos);
    const std::string stray = file(kExplicit, tag(0xfffe, 0xe00d) + le32(0));
    EXPECT_NE(dicom_bytes_problem(stray).find("unexpected delimiter"), std::string::npos);
    // Nesting without end is refused before the stack is.
    std::string deep = short_el(0x0008, 0x1150, "UI", "12");
    for (int i = 0; i < 40; ++i) deep = long_el(0x0008, 0x1140, "SQ", item_undefined(deep) + kSeqEnd, 0xffffffffu);
    EXPECT_NE(dicom_bytes_problem(file(kExplicit, deep)).find("nested deeper"), std::string::npos);
}

TEST(DicomStructure, PixelModuleNumbersAreOneUnsignedShortAndAbsentIsNotZero) {
    const std::string pixels = long_el(0x7fe0, 0x0010, "OW", std::string(8, '\1'), 8);
    // The layout tells a SamplesPerPixel of 0 (which Debian's GDCM aborts on) from none at all.
    const DicomCheck none = checked(file(kExplicit, pixels));
    EXPECT_EQ(none.problem, "");
    EXPECT_EQ(none.pixels.samples, DicomPixelLayout::kAbsent);
    EXPECT_EQ(none.pixels.bits_allocated, DicomPixelLayout::kAbsent);
    const DicomCheck zero = checked(file(kExplicit, short_el(0x0028, 0x0002, "US", le16(0)) + short_el(0x0028, 0x0100, "US", le16(16)) + pixels));
    EXPECT_EQ(zero.problem, "");
    EXPECT_EQ(zero.pixels.samples, 0);
    EXPECT_EQ(zero.pixels.bits_allocated, 16);
    // Four bytes where one unsigned short belongs: refused before GDCM reads it however it would take them.
    const std::string wide = file(kExplicit, short_el(0x0028, 0x0002, "US", le32(1)) + pixels);
    EXPECT_NE(checked(wide).problem.find("element (0028,0002)"), std::string::npos) << checked(wide).problem;
    EXPECT_NE(checked(wide).problem.find("holds 4 bytes, not the 2 of one unsigned short"), std::string::npos);
}

// Raw deflate (no zlib header), as the deflated transfer syntax stores its data set.
std::string deflated(const std::string& data) {
    z_stream z{};
    deflateInit2(&z, 6, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
    std::string out(deflateBound(&z, static_cast<uLong>(data.size())), '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    z.avail_in = static_cast<uInt>(data.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    deflate(&z, Z_FINISH);
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}
const std::string kDeflated = "1.2.840.10008.1.2.1.99";

TEST(DicomStructure, DeflatedDataSetsAreInflatedAndWalked) {
    const std::string pixels = long_el(0x7fe0, 0x0010, "OW", std::string(8, '\1'), 8);
    const std::string ds = short_el(0x0008, 0x0060, "CS", "CT") + short_el(0x0028, 0x0010, "US", le16(2)) + short_el(0x0028, 0x0011, "US", le16(2)) + pixels;
    const DicomCheck sound = checked(file(kDeflated, deflated(ds)));
    EXPECT_EQ(sound.problem, "");
    EXPECT_EQ(sound.pixels.rows, 2);
    EXPECT_EQ(sound.pixels.columns, 2);
    EXPECT_FALSE(sound.pixels.native_little_endian);  // the pixels are not in the file's bytes
    EXPECT_EQ(checked(file(kDeflated, deflated(ds) + std::string(1, '\0'))).problem, "");  // a pad byte after the stream
    // Nothing after the file meta group (GDCM asserts: found by fuzzing), or a stream that inflates to nothing.
    EXPECT_NE(checked(file(kDeflated, "")).problem.find("no data set after the file meta information"), std::string::npos);
    EXPECT_NE(checked(file(kDeflated, deflated(""))).problem.find("inflates to nothing"), std::string::npos);
    // A stream cut anywhere, or corrupt: refused.
    const std::string packed = deflated(ds);
    for (std::size_t cut = 1; cut < packed.size(); ++cut) {
        EXPECT_NE(checked(file(kDeflated, packed.substr(0, cut))).problem, "") << cut;
    }
    EXPECT_NE(checked(file(kDeflated, packed.substr(0, packed.size() / 2))).problem.find("ends before its deflate stream does"), std::string::npos);
    EXPECT_NE(checked(file(kDeflated, std::string("\xff\xff\xff\xff", 4))).problem.find("is corrupt"), std::string::npos);
    // The inflated elements are walked like any others: out of order, or cut inside an element.
    const std::string swapped = short_el(0x0028, 0x0011, "US", le16(2)) + short_el(0x0028, 0x0010, "US", le16(2)) + pixels;
    const std::string why = checked(file(kDeflated, deflated(swapped))).problem;
    EXPECT_NE(why.find("in the inflated data set: element (0028,0010) at byte 10 comes after (0028,0011)"), std::string::npos) << why;
    EXPECT_NE(checked(file(kDeflated, deflated(ds.substr(0, ds.size() - 2)))).problem.find("in the inflated data set: element (7fe0,0010)"), std::string::npos);
}

}  // namespace
}  // namespace nodulecad
