# MetaImage, NIfTI, DICOM, CSV tables, npy, PNG, the cohort layout.
nodulecad_module(io
  DEPENDS core
  SOURCES text_numbers.cpp metaimage_header.cpp metaimage.cpp csv.cpp tables.cpp npy.cpp npy_map.cpp cohort_layout.cpp png.cpp
          probability_map.cpp nifti.cpp dicom_structure.cpp dicom.cpp image_file.cpp candidate_parts.cpp)
