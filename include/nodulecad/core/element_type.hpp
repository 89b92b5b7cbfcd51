#pragma once
// The voxel types a scan can be stored as, and the compile-time map from C++ types to them.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace nodulecad {

enum class ElementType { Int8, UInt8, Int16, UInt16, Int32, UInt32, Float32, Float64 };

constexpr std::size_t element_size(ElementType t) {
    switch (t) {
        case ElementType::Int8:
        case ElementType::UInt8: return 1;
        case ElementType::Int16:
        case ElementType::UInt16: return 2;
        case ElementType::Int32:
        case ElementType::UInt32:
        case ElementType::Float32: return 4;
        case ElementType::Float64: return 8;
    }
    return 0;
}

// MetaImage names: MET_CHAR, MET_UCHAR, MET_SHORT, MET_USHORT, MET_INT, MET_UINT, MET_FLOAT, MET_DOUBLE.
std::string_view metaimage_name(ElementType t);
std::optional<ElementType> element_type_from_metaimage_name(std::string_view name);

template <class T> struct ElementTypeOf;
template <> struct ElementTypeOf<std::int8_t> { static constexpr ElementType value = ElementType::Int8; };
template <> struct ElementTypeOf<std::uint8_t> { static constexpr ElementType value = ElementType::UInt8; };
template <> struct ElementTypeOf<std::int16_t> { static constexpr ElementType value = ElementType::Int16; };
template <> struct ElementTypeOf<std::uint16_t> { static constexpr ElementType value = ElementType::UInt16; };
template <> struct ElementTypeOf<std::int32_t> { static constexpr ElementType value = ElementType::Int32; };
template <> struct ElementTypeOf<std::uint32_t> { static constexpr ElementType value = ElementType::UInt32; };
template <> struct ElementTypeOf<float> { static constexpr ElementType value = ElementType::Float32; };
template <> struct ElementTypeOf<double> { static constexpr ElementType value = ElementType::Float64; };
template <class T> inline constexpr ElementType element_type_of = ElementTypeOf<T>::value;

// Applies MACRO(T) to every voxel type, e.g. for explicit template instantiations.
#define NODULECAD_FOR_EACH_ELEMENT_TYPE(MACRO) \
    MACRO(std::int8_t)                          \
    MACRO(std::uint8_t)                         \
    MACRO(std::int16_t)                         \
    MACRO(std::uint16_t)                        \
    MACRO(std::int32_t)                         \
    MACRO(std::uint32_t)                        \
    MACRO(float)                                \
    MACRO(double)

// Calls f(T{}) with the C++ type matching t.
template <class F> decltype(auto) dispatch_element_type(ElementType t, F&& f) {
    switch (t) {
        case ElementType::Int8: return f(std::int8_t{});
        case ElementType::UInt8: return f(std::uint8_t{});
        case ElementType::Int16: return f(std::int16_t{});
        case ElementType::UInt16: return f(std::uint16_t{});
        case ElementType::Int32: return f(std::int32_t{});
        case ElementType::UInt32: return f(std::uint32_t{});
        case ElementType::Float32: return f(float{});
        case ElementType::Float64: break;
    }
    return f(double{});
}

}  // namespace nodulecad
