<?php
// Reference for Scheme::Composer: composer/semver (Debian php-composer-semver)
// VersionParser::normalize, then Comparator. Prints -1/0/1, "?" when Comparator says
// neither <, == nor > (two different dev- branches), E when normalize throws.
require_once '/usr/share/php/Composer/Semver/autoload.php';

use Composer\Semver\Comparator;
use Composer\Semver\VersionParser;

$parser = new VersionParser();
$out = [];
while (($line = fgets(STDIN)) !== false) {
    $line = rtrim($line, "\n");
    [$a, $b] = explode("\t", $line, 2);
    try {
        $na = $parser->normalize($a);
        $nb = $parser->normalize($b);
    } catch (\UnexpectedValueException $e) {
        $out[] = 'E';
        continue;
    }
    if (Comparator::lessThan($na, $nb)) {
        $out[] = '-1';
    } elseif (Comparator::equalTo($na, $nb)) {
        $out[] = '0';
    } elseif (Comparator::greaterThan($na, $nb)) {
        $out[] = '1';
    } else {
        $out[] = '?';
    }
}
echo implode("\n", $out), "\n";
