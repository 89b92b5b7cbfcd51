#include "model/checkpoint.hpp"

#include <filesystem>

#include "core/error.hpp"

namespace nodulecad {

void save_module_checkpoint(const std::string& path, torch::nn::Module& model, const std::string& card_json, torch::optim::Optimizer* optimizer) {
    torch::serialize::OutputArchive root, weights, opt;
    model.save(weights);
    root.write("model", weights);
    root.write("card", c10::IValue(card_json));
    if (optimizer) {
        optimizer->save(opt);
        root.write("optimizer", opt);
    }
    const std::string tmp = path + ".tmp";
    root.save_to(tmp);
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) fail(path, "cannot move the checkpoint into place: " + ec.message());
}

namespace {
std::string first_line(const std::string& text) {
    const std::string line = text.substr(0, text.find('\n'));
    return line.size() > 160 ? line.substr(0, 160) + "..." : line;
}

// Every tensor is read straight onto `device`, wherever it was saved: a checkpoint written on a GPU holds CUDA
// tensors, which a CPU-only LibTorch refuses to create, and optimizer state must sit beside its parameters.
void load_archive(const std::string& path, torch::serialize::InputArchive& root, const torch::Device& device = torch::kCPU) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) fail(path, "model file not found");
    try {
        root.load_from(path, device);
    } catch (const c10::Error& e) {
        fail(path, "not a nodulecad checkpoint (cannot be read as a LibTorch archive: " + first_line(e.what_without_backtrace()) + ")");
    } catch (const std::exception& e) {
        fail(path, "not a nodulecad checkpoint (cannot be read as a LibTorch archive: " + first_line(e.what()) + ")");
    }
}
}  // namespace

std::string read_card_text(const std::string& path) {
    torch::serialize::InputArchive root;
    load_archive(path, root);
    c10::IValue text;
    try {
        root.read("card", text);
    } catch (const std::exception&) {  // c10::Error, or torch::jit's attribute errors
        fail(path, "not a nodulecad checkpoint (no model card)");
    }
    if (!text.isString()) fail(path, "not a nodulecad checkpoint (model card is not text)");
    return text.toStringRef();
}

void load_module_weights(const std::string& path, torch::nn::Module& model, const torch::Device& device) {
    torch::serialize::InputArchive root;
    load_archive(path, root);
    try {
        torch::serialize::InputArchive weights;
        root.read("model", weights);
        model.load(weights);
        model.to(device);
    } catch (const c10::Error& e) {
        fail(path, "checkpoint does not match its model card: " + std::string(e.what_without_backtrace()).substr(0, 200));
    } catch (const std::exception& e) {
        fail(path, "checkpoint does not match its model card: " + std::string(e.what()).substr(0, 200));
    }
}

void load_optimizer_state(const std::string& path, torch::optim::Optimizer& optimizer) {
    torch::Device device = torch::kCPU;
    for (const auto& group : optimizer.param_groups())
        if (!group.params().empty()) device = group.params().front().device();
    torch::serialize::InputArchive root;
    load_archive(path, root, device);
    try {
        torch::serialize::InputArchive opt;
        root.read("optimizer", opt);
        optimizer.load(opt);
    } catch (const std::exception& e) {
        fail(path, "no usable optimizer state in this checkpoint: " + std::string(e.what()).substr(0, 200));
    }
}

}  // namespace nodulecad
