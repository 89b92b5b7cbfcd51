#pragma once
// DICOM CT series (on GDCM, Debian's libgdcm-dev): a folder of files, searched recursively, to one volume in HU with
// ITK's LPS geometry, and a volume back to a valid CT Image Storage series (for synthetic cohorts and tests).
//
// Reading a series: files grouped by SeriesInstanceUID; within the series the largest group of images with one
// orientation and size is the scan (localizers, other orientations and sizes are skipped with a warning); slices
// sorted by ImagePositionPatient projected on the slice normal (row x column of ImageOrientationPatient), never by
// file name or InstanceNumber; the slice spacing from those positions (SpacingBetweenSlices is used for its exact
// digits only when the positions agree with it), checked uniform — every gap within 1 % (and 0.01 mm) of the
// median, else an error naming the missing position; positions off the normal (gantry tilt) are an error naming the
// angle; HU = stored value x RescaleSlope + RescaleIntercept per slice (BitsStored and PixelRepresentation
// honoured), rounded to int16; origin = the first slice's position; direction: row, column, normal. Enhanced
// multi-frame CT is a clear error. Every transfer syntax GDCM decodes is read: uncompressed little-endian pixels
// straight from the files, the rest by GDCM's own decoders (never the external pvrg-jpeg) in a child process
// (core/child_process.hpp), as the structural check describes the image — a decoder that crashes on a broken stream,
// or finishes no slice for 60 s (twice: the child is started again once), is an Error naming the slice.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "nodulecad/core/volume.hpp"

namespace nodulecad {

// Whether this build reads and writes DICOM (GDCM was found); without it every DICOM call is an Error saying so.
bool dicom_supported();

struct DicomSeries {
    std::string uid;        // SeriesInstanceUID
    std::string modality;   // CT, ...
    std::string sop_class;  // of its first image
    std::size_t images = 0;
    std::int64_t columns = 0, rows = 0;
    std::vector<std::string> files;  // sorted by name (not the slice order)
    bool ct_image() const;           // a CT image series (CT Image Storage)
};

// Every DICOM series under `folder` (recursively; other files are ignored), by uid. Error when the folder is missing.
std::vector<DicomSeries> find_dicom_series(const std::string& folder);

// Whether the file starts like a DICOM file (the "DICM" preamble, or an implicit-VR first group).
bool looks_like_dicom(const std::string& path);

struct DicomReadOptions {
    std::string series;  // SeriesInstanceUID; empty: the folder's one CT series
    std::uint64_t max_bytes = std::uint64_t{16} << 30;
    int threads = 1;     // slices decoded in parallel
};

struct DicomReadInfo {
    std::string series_uid, modality;
    std::size_t slices = 0;
    std::string spacing_source;  // "positions" or "SpacingBetweenSlices (checked against the positions)"
    std::vector<std::string> warnings;
};

// One series as HU. Error naming the folder for no series, several without `series` (listing uid, modality, images
// and size of each), a missing slice, tilt, a truncated or undecodable file, RescaleSlope 0.
Volume<std::int16_t> read_dicom_series(const std::string& folder, const DicomReadOptions& opts = {}, DicomReadInfo* info = nullptr);

struct DicomWriteOptions {
    std::string series_uid;          // required: the scan's uid (a valid DICOM UID, at most 64 characters)
    std::string study_uid;           // generated when empty
    std::string patient_id = "SYNTHETIC";
    bool unsigned_storage = false;   // uint16 with RescaleIntercept -1024 (lower when the scan holds lower HU)
    bool reverse_file_order = false; // file IM0000 holds the last slice: readers must sort by position
    double slice_thickness = 0;      // 0: the slice spacing
};

// One file per slice, FOLDER/IM<nnnn>.dcm, explicit VR little endian; the folder is created. The volume's direction
// must be orthonormal (DICOM has no other); Error otherwise.
void write_dicom_series(const std::string& folder, const Volume<std::int16_t>& hu, const DicomWriteOptions& opts);

}  // namespace nodulecad
