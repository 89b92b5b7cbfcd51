#pragma once
// A candidates table made by shards (`detect --shard K/N`, docs/distributed.md): each shard writes its scans'
// rows to OUT.parts/<key>/<uid>.csv (atomically; <key> is a hash of everything the rows depend on, so parts made
// with other inputs or options never mix), and whichever shard finds every scan's part there writes OUT from them —
// byte for byte the table one process writes (rows read back bit-exact, scans in uid order). Shards finishing
// together write the same bytes. The parts stay (a later shard run may need them); delete OUT.parts when done.
#include <string>
#include <vector>

#include "nodulecad/io/tables.hpp"

namespace nodulecad {

// OUT.parts/<16 hex digits of the key's hash>.
std::string candidate_parts_dir(const std::string& out, const std::string& key);

// Writes the part of each scan in `mine` (its rows of `rows`, in their order; a scan without rows gets a part with
// the header alone), then, when every scan of `all` has a part, OUT. Returns whether it wrote OUT.
bool write_candidate_parts(const std::string& out, const std::string& key, const std::vector<std::string>& all, const std::vector<std::string>& mine,
                           const std::vector<Candidate>& rows, bool with_diameter);

}  // namespace nodulecad
