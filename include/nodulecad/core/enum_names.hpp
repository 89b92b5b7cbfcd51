#pragma once
// Enums that have names in files and on the command line. One table per enum gives both directions, so each name is
// spelled in one place; the command line parses it once (cli/commands.hpp, add_enum_option) and files are read with
// parse_enum, whose error names the option and the value.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "nodulecad/core/error.hpp"

namespace nodulecad {

template <class E> struct EnumName {
    E value;
    std::string_view name;
};

template <class E, std::size_t N> std::string enum_name(E v, const EnumName<E> (&table)[N]) {
    for (const auto& e : table)
        if (e.value == v) return std::string(e.name);
    return "?";
}

template <class E, std::size_t N> std::optional<E> enum_from_name(std::string_view name, const EnumName<E> (&table)[N]) {
    for (const auto& e : table)
        if (e.name == name) return e.value;
    return std::nullopt;
}

// "a, b or c".
template <class E, std::size_t N> std::string enum_choices(const EnumName<E> (&table)[N]) {
    std::string out;
    for (std::size_t n = 0; n < N; ++n) out += (n == 0 ? "" : n + 1 == N ? " or " : ", ") + std::string(table[n].name);
    return out;
}

// OptionError "<option> must be a, b or c, got 'x'" for a name not in the table.
template <class E, std::size_t N> E parse_enum(const char* option, std::string_view name, const EnumName<E> (&table)[N]) {
    if (const auto v = enum_from_name(name, table)) return *v;
    throw OptionError(option, "must be " + enum_choices(table) + ", got '" + std::string(name) + "'");
}

}  // namespace nodulecad
