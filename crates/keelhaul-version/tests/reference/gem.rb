# Reference for Scheme::RubyGems: Gem::Version#<=> (Debian ruby). E when either side is
# not Gem::Version.correct? (Gem::Version.new would raise ArgumentError).
require 'rubygems'

out = []
$stdin.each_line do |line|
  a, b = line.chomp("\n").split("\t", 2)
  if Gem::Version.correct?(a) && Gem::Version.correct?(b)
    out << (Gem::Version.new(a) <=> Gem::Version.new(b)).to_s
  else
    out << 'E'
  end
end
$stdout.write(out.join("\n") + "\n")
