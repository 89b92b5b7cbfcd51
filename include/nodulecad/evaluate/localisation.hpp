#pragma once
// Localisation and size errors (the seed's error analysis, done right): each annotated nodule paired with the
// nearest candidate of its scan within a distance (default: the nodule's radius); signed errors candidate minus
// annotation in X, Y, Z and diameter (mm), with mean, standard deviation and MSE.
#include <array>
#include <string>
#include <vector>

#include "nodulecad/io/tables.hpp"

namespace nodulecad {

struct NoduleError {
    Annotation nodule;
    bool matched = false;
    Candidate candidate{};
    Vec3 error{};                                                 // candidate - nodule, mm
    double diameter_error = std::numeric_limits<double>::quiet_NaN();  // when the candidate has a diameter
    double distance = std::numeric_limits<double>::quiet_NaN();
};

struct ErrorStats {
    int count = 0;
    double mean = 0, sd = 0, mse = 0;
};

struct ErrorSummary {
    int nodules = 0, matched = 0;
    std::array<ErrorStats, 4> stats;  // X, Y, Z, diameter
};

// max_distance_mm <= 0: each nodule's own radius.
std::vector<NoduleError> pair_nodules(const std::vector<Annotation>& nodules, const std::vector<Candidate>& candidates, double max_distance_mm = 0);
ErrorSummary summarize_errors(const std::vector<NoduleError>& errors);

}  // namespace nodulecad
