// Includes a stage above it: what the layering check exists to catch.
#include "nodulecad/high/b.hpp"
