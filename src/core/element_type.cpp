#include "nodulecad/core/element_type.hpp"

namespace nodulecad {

namespace {
struct NamedType {
    std::string_view name;
    ElementType type;
};
constexpr NamedType kNames[] = {
    {"MET_CHAR", ElementType::Int8},     {"MET_UCHAR", ElementType::UInt8}, {"MET_SHORT", ElementType::Int16},
    {"MET_USHORT", ElementType::UInt16}, {"MET_INT", ElementType::Int32},   {"MET_UINT", ElementType::UInt32},
    {"MET_FLOAT", ElementType::Float32}, {"MET_DOUBLE", ElementType::Float64},
};
}  // namespace

std::string_view metaimage_name(ElementType t) {
    for (const auto& n : kNames)
        if (n.type == t) return n.name;
    return "MET_OTHER";
}

std::optional<ElementType> element_type_from_metaimage_name(std::string_view name) {
    for (const auto& n : kNames)
        if (n.name == name) return n.type;
    return std::nullopt;
}

}  // namespace nodulecad
