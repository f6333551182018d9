"""PyTorch's speed on this machine for the chapter models, measured as `Benchmarks` measures ours.

The project's speed targets are ratios to PyTorch; this script measures PyTorch here so that the comparison is
made on one machine in one session. Same protocol as `swift run -c release Benchmarks`:
synthetic inputs in [0, 1) and random labels, the book's input size and batch size, plain SGD
(lr 0.01), 2 warm-up steps, then `--steps` timed training steps (zero_grad, forward,
cross-entropy, backward, step) and `--steps` timed inference batches (eval mode, no_grad).
Each model runs in a process of its own, so that `peak_rss_bytes` (VmHWM) is that model's.

Not part of the Swift build or its tests, and not run by CI. PyTorch is not a dependency of
the project; to run this, install it in a virtual environment of its own:

    python3 -m venv /tmp/torchenv && /tmp/torchenv/bin/pip install torch
    /tmp/torchenv/bin/python bench/pytorch_reference.py            # a table
    /tmp/torchenv/bin/python bench/pytorch_reference.py --json     # the same keys as Benchmarks --json

The architectures are the book's (zh 2.0 / en 0.17 PyTorch code), written out below; the
xavier initialisation is applied as `d2l.train_ch6` does.
"""
import argparse
import json
import subprocess
import sys
import time

BOOK = {  # model: (input, batch), the book's --full configuration
    "alexnet": (224, 128), "vgg_small": (224, 128), "nin": (224, 128), "googlenet": (96, 128),
    "bn_lenet": (28, 256), "resnet18": (96, 256), "densenet": (96, 256), "regnetx32": (96, 128),
}


def build(name):
    import torch
    from torch import nn

    def alexnet():
        return nn.Sequential(
            nn.Conv2d(1, 96, 11, stride=4, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2),
            nn.Conv2d(96, 256, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
            nn.Conv2d(256, 384, 3, padding=1), nn.ReLU(),
            nn.Conv2d(384, 384, 3, padding=1), nn.ReLU(),
            nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2), nn.Flatten(),
            nn.Linear(6400, 4096), nn.ReLU(), nn.Dropout(0.5),
            nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(0.5), nn.Linear(4096, 10))

    def vgg_small():
        layers, cin = [], 1
        for convs, cout in ((1, 16), (1, 32), (2, 64), (2, 128), (2, 128)):
            for _ in range(convs):
                layers += [nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU()]
                cin = cout
            layers.append(nn.MaxPool2d(2, 2))
        return nn.Sequential(*layers, nn.Flatten(),
                             nn.Linear(128 * 7 * 7, 4096), nn.ReLU(), nn.Dropout(0.5),
                             nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(0.5), nn.Linear(4096, 10))

    def nin():
        def block(cin, cout, k, s, p):
            return nn.Sequential(nn.Conv2d(cin, cout, k, s, p), nn.ReLU(),
                                 nn.Conv2d(cout, cout, 1), nn.ReLU(), nn.Conv2d(cout, cout, 1), nn.ReLU())
        return nn.Sequential(block(1, 96, 11, 4, 0), nn.MaxPool2d(3, 2),
                             block(96, 256, 5, 1, 2), nn.MaxPool2d(3, 2),
                             block(256, 384, 3, 1, 1), nn.MaxPool2d(3, 2), nn.Dropout(0.5),
                             block(384, 10, 3, 1, 1), nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten())

    class Inception(nn.Module):
        def __init__(self, cin, c1, c2, c3, c4):
            super().__init__()
            self.p1 = nn.Conv2d(cin, c1, 1)
            self.p2_1, self.p2_2 = nn.Conv2d(cin, c2[0], 1), nn.Conv2d(c2[0], c2[1], 3, padding=1)
            self.p3_1, self.p3_2 = nn.Conv2d(cin, c3[0], 1), nn.Conv2d(c3[0], c3[1], 5, padding=2)
            self.p4_1, self.p4_2 = nn.MaxPool2d(3, 1, 1), nn.Conv2d(cin, c4, 1)

        def forward(self, x):
            relu = torch.relu
            return torch.cat((relu(self.p1(x)), relu(self.p2_2(relu(self.p2_1(x)))),
                              relu(self.p3_2(relu(self.p3_1(x)))), relu(self.p4_2(self.p4_1(x)))), dim=1)

    def googlenet():
        b1 = nn.Sequential(nn.Conv2d(1, 64, 7, 2, 3), nn.ReLU(), nn.MaxPool2d(3, 2, 1))
        b2 = nn.Sequential(nn.Conv2d(64, 64, 1), nn.ReLU(), nn.Conv2d(64, 192, 3, padding=1), nn.ReLU(),
                           nn.MaxPool2d(3, 2, 1))
        b3 = nn.Sequential(Inception(192, 64, (96, 128), (16, 32), 32), Inception(256, 128, (128, 192), (32, 96), 64),
                           nn.MaxPool2d(3, 2, 1))
        b4 = nn.Sequential(Inception(480, 192, (96, 208), (16, 48), 64), Inception(512, 160, (112, 224), (24, 64), 64),
                           Inception(512, 128, (128, 256), (24, 64), 64), Inception(512, 112, (144, 288), (32, 64), 64),
                           Inception(528, 256, (160, 320), (32, 128), 128), nn.MaxPool2d(3, 2, 1))
        b5 = nn.Sequential(Inception(832, 256, (160, 320), (32, 128), 128), Inception(832, 384, (192, 384), (48, 128), 128),
                           nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten())
        return nn.Sequential(b1, b2, b3, b4, b5, nn.Linear(1024, 10))

    def bn_lenet():
        return nn.Sequential(
            nn.Conv2d(1, 6, 5), nn.BatchNorm2d(6), nn.Sigmoid(), nn.AvgPool2d(2, 2),
            nn.Conv2d(6, 16, 5), nn.BatchNorm2d(16), nn.Sigmoid(), nn.AvgPool2d(2, 2), nn.Flatten(),
            nn.Linear(256, 120), nn.BatchNorm1d(120), nn.Sigmoid(),
            nn.Linear(120, 84), nn.BatchNorm1d(84), nn.Sigmoid(), nn.Linear(84, 10))

    class Residual(nn.Module):
        def __init__(self, cin, cout, use_1x1conv=False, strides=1):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, strides, 1)
            self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
            self.conv3 = nn.Conv2d(cin, cout, 1, strides) if use_1x1conv else None
            self.bn1, self.bn2 = nn.BatchNorm2d(cout), nn.BatchNorm2d(cout)

        def forward(self, x):
            y = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
            return torch.relu(y + (self.conv3(x) if self.conv3 is not None else x))

    def resnet18():
        def stage(cin, cout, first):
            return [Residual(cin, cout, use_1x1conv=not first, strides=1 if first else 2), Residual(cout, cout)]
        return nn.Sequential(
            nn.Conv2d(1, 64, 7, 2, 3), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(3, 2, 1),
            nn.Sequential(*stage(64, 64, True)), nn.Sequential(*stage(64, 128, False)),
            nn.Sequential(*stage(128, 256, False)), nn.Sequential(*stage(256, 512, False)),
            nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Linear(512, 10))

    class DenseBlock(nn.Module):
        def __init__(self, convs, cin, growth):
            super().__init__()
            self.net = nn.ModuleList(
                nn.Sequential(nn.BatchNorm2d(cin + i * growth), nn.ReLU(), nn.Conv2d(cin + i * growth, growth, 3, padding=1))
                for i in range(convs))

        def forward(self, x):
            for blk in self.net:
                x = torch.cat((x, blk(x)), dim=1)
            return x

    def densenet():
        layers, c = [nn.Conv2d(1, 64, 7, 2, 3), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(3, 2, 1)], 64
        for i in range(4):
            layers.append(DenseBlock(4, c, 32))
            c += 4 * 32
            if i != 3:
                layers += [nn.BatchNorm2d(c), nn.ReLU(), nn.Conv2d(c, c // 2, 1), nn.AvgPool2d(2, 2)]
                c //= 2
        return nn.Sequential(*layers, nn.BatchNorm2d(c), nn.ReLU(), nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(),
                             nn.Linear(c, 10))

    class ResNeXtBlock(nn.Module):
        def __init__(self, cin, cout, group_width, use_1x1conv=False, strides=1):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 1)
            self.conv2 = nn.Conv2d(cout, cout, 3, strides, 1, groups=cout // group_width)
            self.conv3 = nn.Conv2d(cout, cout, 1)
            self.bn1, self.bn2, self.bn3 = nn.BatchNorm2d(cout), nn.BatchNorm2d(cout), nn.BatchNorm2d(cout)
            self.conv4 = nn.Conv2d(cin, cout, 1, strides) if use_1x1conv else None
            self.bn4 = nn.BatchNorm2d(cout) if use_1x1conv else None

        def forward(self, x):
            y = torch.relu(self.bn1(self.conv1(x)))
            y = torch.relu(self.bn2(self.conv2(y)))
            y = self.bn3(self.conv3(y))
            return torch.relu(y + (self.bn4(self.conv4(x)) if self.conv4 is not None else x))

    def regnetx32():
        layers, c = [nn.Conv2d(1, 32, 3, 2, 1), nn.BatchNorm2d(32), nn.ReLU()], 32
        for depth, width in ((4, 32), (6, 80)):
            layers.append(ResNeXtBlock(c, width, 16, use_1x1conv=True, strides=2))
            layers += [ResNeXtBlock(width, width, 16) for _ in range(depth - 1)]
            c = width
        return nn.Sequential(*layers, nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Linear(c, 10))

    net = locals()[name]()
    for m in net.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            nn.init.xavier_uniform_(m.weight)
    return net


def peak_rss_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def measure(name, threads, steps):
    import torch
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    size, batch = BOOK[name]
    net = build(name)
    x = torch.rand(batch, 1, size, size)
    y = torch.randint(0, 10, (batch,))
    sgd = torch.optim.SGD(net.parameters(), lr=0.01)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        sgd.zero_grad()
        loss_fn(net(x), y).backward()
        sgd.step()

    net.train()
    for _ in range(2):
        step()
    t = time.perf_counter()
    for _ in range(steps):
        step()
    train = batch * steps / (time.perf_counter() - t)
    net.eval()
    with torch.no_grad():
        net(x)
        t = time.perf_counter()
        for _ in range(steps):
            net(x)
        infer = batch * steps / (time.perf_counter() - t)
    return {"model": name, "input": size, "batch": batch, "threads": threads,
            "train_images_per_sec": train, "infer_images_per_sec": infer, "peak_rss_bytes": peak_rss_bytes(),
            "torch": torch.__version__, "cpu_capability": torch.backends.cpu.get_cpu_capability()}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--models", default=",".join(BOOK), help="comma-separated, from: " + ", ".join(BOOK))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--json", action="store_true")
    p.add_argument("--one", help=argparse.SUPPRESS)   # internal: measure one model in this process
    a = p.parse_args()
    if a.one:
        print(json.dumps(measure(a.one, a.threads, a.steps)))
        return
    names = a.models.split(",")
    unknown = [n for n in names if n not in BOOK]
    if unknown:
        p.error("unknown model(s) %s; choose from %s" % (", ".join(unknown), ", ".join(BOOK)))
    rows = []
    if not a.json:
        print("model        input/batch  train img/s  infer img/s  peak RSS")
    for n in names:
        out = subprocess.run([sys.executable, __file__, "--one", n, "--threads", str(a.threads), "--steps", str(a.steps)],
                             check=True, capture_output=True, text=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        rows.append(r)
        if not a.json:
            print("%-12s %4d/%-6d %11.1f %12.1f  %5.2f GiB" % (n, r["input"], r["batch"], r["train_images_per_sec"],
                                                           r["infer_images_per_sec"], r["peak_rss_bytes"] / 2**30), flush=True)
    if a.json:
        print(json.dumps(rows, indent=2))
    else:
        print("\nPyTorch %s, CPU capability %s, %d threads" % (rows[0]["torch"], rows[0]["cpu_capability"], a.threads))


if __name__ == "__main__":
    main()
