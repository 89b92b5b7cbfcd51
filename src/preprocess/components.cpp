#include "nodulecad/preprocess/components.hpp"

#include <numeric>

#include "nodulecad/core/threads.hpp"

namespace nodulecad {

namespace {

struct UnionFind {
    std::vector<std::int32_t> parent;
    explicit UnionFind(std::size_t n) : parent(n) { std::iota(parent.begin(), parent.end(), 0); }
    std::int32_t find(std::int32_t a) {
        while (parent[static_cast<std::size_t>(a)] != a) {
            parent[static_cast<std::size_t>(a)] = parent[static_cast<std::size_t>(parent[static_cast<std::size_t>(a)])];
            a = parent[static_cast<std::size_t>(a)];
        }
        return a;
    }
    void unite(std::int32_t a, std::int32_t b) {
        a = find(a);
        b = find(b);
        if (a != b) parent[static_cast<std::size_t>(std::max(a, b))] = std::min(a, b);
    }
};

void runs_of_row(const std::uint8_t* row, std::int64_t nx, std::int64_t row_id, std::vector<Run>& out) {
    std::int64_t x = 0;
    while (x < nx) {
        while (x < nx && !row[x]) ++x;
        if (x >= nx) break;
        const std::int64_t start = x;
        while (x < nx && row[x]) ++x;
        out.push_back({static_cast<std::int32_t>(start), static_cast<std::int32_t>(x), row_id});
    }
}

// Joins overlapping runs of two sorted run lists [a0, a1) and [b0, b1); `diagonal` = 1 also joins runs that only
// touch at a corner (8-connectivity).
void join(const std::vector<Run>& runs, std::size_t a0, std::size_t a1, std::size_t b0, std::size_t b1, UnionFind& uf,
          std::int32_t diagonal = 0) {
    std::size_t a = a0, b = b0;
    while (a < a1 && b < b1) {
        if (runs[a].x1 + diagonal > runs[b].x0 && runs[b].x1 + diagonal > runs[a].x0)
            uf.unite(static_cast<std::int32_t>(a), static_cast<std::int32_t>(b));
        if (runs[a].x1 < runs[b].x1) ++a;
        else ++b;
    }
}

Components finish(Components c, UnionFind& uf) {
    c.label.resize(c.runs.size());
    std::vector<std::int32_t> id(c.runs.size(), -1);
    for (std::size_t r = 0; r < c.runs.size(); ++r) {
        const auto root = static_cast<std::size_t>(uf.find(static_cast<std::int32_t>(r)));
        if (id[root] < 0) {
            id[root] = c.count++;
            c.size.push_back(0);
        }
        c.label[r] = id[root];
        c.size[static_cast<std::size_t>(id[root])] += c.runs[r].x1 - c.runs[r].x0;
    }
    return c;
}

}  // namespace

Components label_slice(const std::uint8_t* mask, std::int64_t nx, std::int64_t ny, bool eight_connected) {
    Components c;
    c.nx = nx;
    c.ny = ny;
    c.nz = 1;
    std::vector<std::size_t> start(static_cast<std::size_t>(ny) + 1, 0);
    for (std::int64_t j = 0; j < ny; ++j) {
        start[static_cast<std::size_t>(j)] = c.runs.size();
        runs_of_row(mask + j * nx, nx, j, c.runs);
    }
    start[static_cast<std::size_t>(ny)] = c.runs.size();
    UnionFind uf(c.runs.size());
    for (std::int64_t j = 1; j < ny; ++j)
        join(c.runs, start[static_cast<std::size_t>(j - 1)], start[static_cast<std::size_t>(j)], start[static_cast<std::size_t>(j)],
             start[static_cast<std::size_t>(j + 1)], uf, eight_connected ? 1 : 0);
    return finish(std::move(c), uf);
}

Components label_volume(const Volume<std::uint8_t>& mask, int threads, bool full_connectivity) {
    const auto& g = mask.geometry;
    Components c;
    c.nx = g.size[0];
    c.ny = g.size[1];
    c.nz = g.size[2];
    // Runs per slice in parallel, then concatenated in slice order (deterministic).
    std::vector<std::vector<Run>> per_slice(static_cast<std::size_t>(c.nz));
    parallel_for(c.nz, threads, [&](std::int64_t k) {
        auto& out = per_slice[static_cast<std::size_t>(k)];
        for (std::int64_t j = 0; j < c.ny; ++j)
            runs_of_row(mask.voxels.data() + static_cast<std::size_t>((k * c.ny + j) * c.nx), c.nx, k * c.ny + j, out);
    });
    std::size_t total = 0;
    for (const auto& s : per_slice) total += s.size();
    c.runs.reserve(total);
    for (auto& s : per_slice) {
        c.runs.insert(c.runs.end(), s.begin(), s.end());
        std::vector<Run>().swap(s);
    }
    const std::size_t rows = static_cast<std::size_t>(c.ny * c.nz);
    std::vector<std::size_t> start(rows + 1, c.runs.size());
    for (std::size_t r = c.runs.size(); r-- > 0;) start[static_cast<std::size_t>(c.runs[r].row)] = r;
    for (std::size_t row = rows; row-- > 0;)
        if (start[row] > start[row + 1]) start[row] = start[row + 1];
    UnionFind uf(c.runs.size());
    const std::int32_t diagonal = full_connectivity ? 1 : 0;
    const auto ny = static_cast<std::size_t>(c.ny);
    for (std::size_t row = 0; row < rows; ++row) {
        const std::size_t j = row % ny;
        if (j > 0) join(c.runs, start[row - 1], start[row], start[row], start[row + 1], uf, diagonal);
        if (row >= ny) {
            // The slice below: the same row, and with 26-connectivity the rows on either side of it too.
            const std::size_t below = row - ny;
            join(c.runs, start[below], start[below + 1], start[row], start[row + 1], uf, diagonal);
            if (full_connectivity) {
                if (j > 0) join(c.runs, start[below - 1], start[below], start[row], start[row + 1], uf, 1);
                if (j + 1 < ny) join(c.runs, start[below + 1], start[below + 2], start[row], start[row + 1], uf, 1);
            }
        }
    }
    return finish(std::move(c), uf);
}

void paint(const Components& c, const std::vector<bool>& keep, std::uint8_t* out, std::uint8_t value) {
    for (std::size_t r = 0; r < c.runs.size(); ++r) {
        if (!keep[static_cast<std::size_t>(c.label[r])]) continue;
        const Run& run = c.runs[r];
        std::uint8_t* row = out + run.row * c.nx;
        for (std::int32_t x = run.x0; x < run.x1; ++x) row[x] = value;
    }
}

}  // namespace nodulecad
