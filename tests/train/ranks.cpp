#include "train/ranks.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <exception>
#include <thread>

namespace nodulecad::test {

int free_port() {
    const int s = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof a;
    if (bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
        close(s);
        return 29500;
    }
    close(s);
    return ntohs(a.sin_port);
}

std::vector<std::string> run_as_ranks(int ranks, const std::function<void(const WorldSpec&)>& body, int agent_port) {
    const int port = agent_port > 0 ? agent_port : free_port();
    const Launcher launcher = agent_port > 0 ? Launcher::Torchrun : Launcher::Env;
    std::vector<std::string> errors(static_cast<std::size_t>(ranks));
    std::vector<std::thread> threads;
    for (int r = 0; r < ranks; ++r)
        threads.emplace_back([&, r] {
            try {
                body(WorldSpec{r, ranks, r, "127.0.0.1", port, launcher});
            } catch (const std::exception& e) {
                errors[static_cast<std::size_t>(r)] = e.what();
            }
        });
    for (auto& t : threads) t.join();
    return errors;
}

}  // namespace nodulecad::test
