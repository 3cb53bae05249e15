import CTimeslice
import Glibc

enum AsyncPreemption {
    static func signal(_ m: Machine) {}
}
