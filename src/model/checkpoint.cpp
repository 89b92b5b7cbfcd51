#include "nodulecad/model/checkpoint.hpp"

#include <filesystem>
#include <sstream>

#include "nodulecad/core/error.hpp"
#include "nodulecad/core/files.hpp"

namespace nodulecad {

namespace {
// LibTorch's reason for a failure, short enough for one error line: its first line (c10::Error without the
// backtrace), at most 200 characters.
std::string brief_reason(const std::exception& e) {
    const auto* c10 = dynamic_cast<const c10::Error*>(&e);
    const std::string text = c10 ? c10->what_without_backtrace() : e.what();
    const std::string line = text.substr(0, text.find('\n'));
    return line.size() > 200 ? line.substr(0, 200) + "..." : line;
}

// Every tensor is read straight onto `device`, wherever it was saved: a checkpoint written on a GPU holds CUDA
// tensors, which a CPU-only LibTorch refuses to create, and optimizer state must sit beside its parameters.
void load_archive(const std::string& path, torch::serialize::InputArchive& root, const torch::Device& device = torch::kCPU) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) fail(path, "model file not found");
    try {
        root.load_from(path, device);
    } catch (const std::exception& e) {
        fail(path, "not a nodulecad checkpoint (cannot be read as a LibTorch archive: " + brief_reason(e) + ")");
    }
}
}  // namespace

void save_module_checkpoint(const std::string& path, torch::nn::Module& model, const std::string& card_json, torch::optim::Optimizer* optimizer) {
    torch::serialize::OutputArchive root, weights, opt;
    model.save(weights);
    root.write("model", weights);
    root.write("card", c10::IValue(card_json));
    if (optimizer) {
        optimizer->save(opt);
        root.write("optimizer", opt);
    }
    // Serialised in memory, then written as any file (a temporary file renamed into place): LibTorch's file writer
    // aborts the process when a write fails (its destructor throws again; a full disk or `ulimit -f` showed it),
    // where this way a failed write is the usual one-line error naming the file.
    std::ostringstream bytes;
    try {
        root.save_to(bytes);
    } catch (const std::exception& e) {
        fail(path, "cannot serialise the checkpoint: " + brief_reason(e));
    }
    write_file_atomically(path, bytes.str());
}


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
    } catch (const std::exception& e) {
        fail(path, "checkpoint does not match its model card: " + brief_reason(e));
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
        fail(path, "no usable optimizer state in this checkpoint: " + brief_reason(e));
    }
}

}  // namespace nodulecad
