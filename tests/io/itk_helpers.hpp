// Small bridges between our volumes and ITK images, for the ITK cross-check tests only.
#pragma once

#include <gtest/gtest.h>
#include <itkImage.h>
#include <itkImageFileReader.h>
#include <itkImageFileWriter.h>

#include <algorithm>
#include <string>

#include "nodulecad/core/volume.hpp"

namespace nodulecad::test {

template <class T> using ItkImage = itk::Image<T, 3>;

template <class T> typename ItkImage<T>::Pointer itk_read(const std::string& path) {
    auto reader = itk::ImageFileReader<ItkImage<T>>::New();
    reader->SetFileName(path);
    reader->Update();
    return reader->GetOutput();
}

template <class T> void itk_write(const std::string& path, const ItkImage<T>* img, bool compress = false) {
    auto writer = itk::ImageFileWriter<ItkImage<T>>::New();
    writer->SetFileName(path);
    writer->SetInput(img);
    writer->SetUseCompression(compress);
    writer->Update();
}

// Same size, voxels equal, geometry within `tol`.
template <class T> void expect_same(const ItkImage<T>* img, const Volume<T>& v, double tol) {
    const auto size = img->GetLargestPossibleRegion().GetSize();
    for (unsigned a = 0; a < 3; ++a) {
        EXPECT_EQ(static_cast<std::int64_t>(size[a]), v.geometry.size[a]);
        EXPECT_NEAR(img->GetSpacing()[a], v.geometry.spacing[a], tol);
        EXPECT_NEAR(img->GetOrigin()[a], v.geometry.origin[a], tol);
        for (unsigned c = 0; c < 3; ++c) EXPECT_NEAR(img->GetDirection()[a][c], v.geometry.direction[3 * a + c], tol);
    }
    const T* buf = img->GetBufferPointer();
    ASSERT_EQ(img->GetLargestPossibleRegion().GetNumberOfPixels(), v.voxels.size());
    EXPECT_TRUE(std::equal(v.voxels.begin(), v.voxels.end(), buf));
}

template <class T> typename ItkImage<T>::Pointer to_itk(const Volume<T>& v) {
    auto img = ItkImage<T>::New();
    typename ItkImage<T>::SizeType size;
    typename ItkImage<T>::SpacingType spacing;
    typename ItkImage<T>::PointType origin;
    typename ItkImage<T>::DirectionType dir;
    for (unsigned a = 0; a < 3; ++a) {
        size[a] = static_cast<itk::SizeValueType>(v.geometry.size[a]);
        spacing[a] = v.geometry.spacing[a];
        origin[a] = v.geometry.origin[a];
        for (unsigned c = 0; c < 3; ++c) dir[a][c] = v.geometry.direction[3 * a + c];
    }
    img->SetRegions(typename ItkImage<T>::RegionType(size));
    img->SetSpacing(spacing);
    img->SetOrigin(origin);
    img->SetDirection(dir);
    img->Allocate();
    std::copy(v.voxels.begin(), v.voxels.end(), img->GetBufferPointer());
    return img;
}

}  // namespace nodulecad::test
